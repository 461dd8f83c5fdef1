package org.apsara.pangu.master.raft;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.List;
import org.apsara.pangu.master.namespace.ChunkInfo;
import org.apsara.pangu.master.namespace.ContentSummary;
import org.apsara.pangu.master.namespace.FileStatus;
import org.apsara.pangu.master.namespace.NamespaceErrorCode;
import org.apsara.pangu.master.namespace.NamespaceException;
import org.apsara.pangu.master.namespace.NamespaceReply;
import org.junit.jupiter.api.Test;

/** Every reply survives the trip through the bytes the state machine hands to Ratis. */
class ReplyCodecTest {

  @Test
  void everyKindOfReplyRoundTrips() throws Exception {
    FileStatus dir = new FileStatus("/d", 2, true, 0755, "alice", "staff", 10, 11, 0, 0, 0, 0,
        false, false, "", 0, 100, 1 << 30, new ContentSummary(3, 2, 4096, 12288, 100, 1 << 30));
    FileStatus file = new FileStatus("/d/f", 3, false, 0644, "alice", "staff", 12, 13, 4096, 3,
        1 << 20, 2, true, true, "client-1", 60_012, -1, -1, null);
    List<NamespaceReply> replies = List.of(
        new NamespaceReply.Status(dir),
        new NamespaceReply.Status(file),
        new NamespaceReply.AlreadyApplied(42),
        new NamespaceReply.Chunk(new ChunkInfo(3, 1, 99, 2, 0, false)),
        new NamespaceReply.LeasesRenewed(4, 1),
        new NamespaceReply.Deleted(true, 7),
        new NamespaceReply.Reclaimed(10, 20, false),
        new NamespaceReply.GarbageForgotten(5));
    for (NamespaceReply reply : replies) {
      assertThat(ReplyCodec.decode(ByteBuffer.wrap(ReplyCodec.encode(reply)))).isEqualTo(reply);
    }
  }

  @Test
  void aRefusalKeepsItsCodePathAndMessage() throws Exception {
    NamespaceException refusal = new NamespaceException(NamespaceErrorCode.LEASE_HELD_BY_OTHER,
        "/d/f", "/d/f is being written by client 'w'");
    NamespaceReply decoded = ReplyCodec.decode(
        ByteBuffer.wrap(ReplyCodec.encode(new NamespaceReply.Failed(refusal))));
    assertThat(decoded).isInstanceOfSatisfying(NamespaceReply.Failed.class, f -> {
      assertThat(f.error().code()).isEqualTo(NamespaceErrorCode.LEASE_HELD_BY_OTHER);
      assertThat(f.error().path()).isEqualTo("/d/f");
      assertThat(f.error().getMessage()).isEqualTo(refusal.getMessage());
    });
  }
}
