package org.apsara.nuwa.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.Event;
import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.RequestOp;
import io.etcd.jetcd.api.TxnRequest;
import io.etcd.jetcd.api.WatchCreateRequest;
import io.etcd.jetcd.api.WatchResponse;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Set;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apsara.nuwa.api.NuwaLimits;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A watch that replays more history than fits in one response ({@link
 * NuwaLimits#MAX_EVENTS_PER_WATCH_RESPONSE} events) gets all of it, over several responses, when
 * the limit falls between revisions that carry several events each (transactions).
 */
class WatchReplayLimitTest {
  /** Puts per transaction: etcd's limit, so few writes make a long history. */
  private static final int PUTS_PER_TXN = NuwaLimits.MAX_TXN_OPS;

  @TempDir Path dir;
  private NuwaTestCluster cluster;
  private ManagedChannel channel;

  @BeforeEach
  void start() {
    cluster = NuwaTestCluster.start(dir, 1);
    channel = NettyChannelBuilder.forTarget(cluster.endpoint(0)).usePlaintext().build();
  }

  @AfterEach
  void stop() throws InterruptedException {
    if (channel != null) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    if (cluster != null) {
      cluster.close();
    }
  }

  /** Writes {@code count} keys in one transaction, at one revision; returns the revision. */
  private long txnPut(String prefix, int count) {
    TxnRequest.Builder txn = TxnRequest.newBuilder();
    for (int i = 0; i < count; i++) {
      txn.addSuccess(RequestOp.newBuilder().setRequestPut(PutRequest.newBuilder()
          .setKey(ByteString.copyFromUtf8(String.format("%s%04d", prefix, i)))
          .setValue(ByteString.copyFromUtf8("v"))));
    }
    return KVGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
        .txn(txn.build()).getHeader().getRevision();
  }

  @Test
  void replayDeliversEveryEventWhenTheLimitFallsBetweenRevisions() {
    int limit = NuwaLimits.MAX_EVENTS_PER_WATCH_RESPONSE;
    // Revisions of 128 events up to just below the limit, then one that does not fit beside
    // them, then single puts: the first response must stop before the revision that does not
    // fit, and the next responses must carry on from there.
    List<Long> revisions = new ArrayList<>();
    List<Integer> sizes = new ArrayList<>();
    int events = 0;
    int batch = 0;
    while (events + PUTS_PER_TXN < limit - 4) {
      revisions.add(txnPut("r/" + batch++ + "/", PUTS_PER_TXN));
      sizes.add(PUTS_PER_TXN);
      events += PUTS_PER_TXN;
    }
    int rest = limit - 4 - events;
    revisions.add(txnPut("r/" + batch++ + "/", rest));
    sizes.add(rest);
    events += rest;
    revisions.add(txnPut("r/" + batch++ + "/", 10));
    sizes.add(10);
    events += 10;
    for (int i = 0; i < 3; i++) {
      revisions.add(txnPut("r/" + batch++ + "/", 1));
      sizes.add(1);
      events++;
    }
    assertThat(events).isGreaterThan(limit);

    try (RawWatchStream stream = new RawWatchStream(channel)) {
      stream.create(WatchCreateRequest.newBuilder().setKey(ByteString.copyFromUtf8("r/"))
          .setRangeEnd(ByteString.copyFromUtf8("r0")).setStartRevision(revisions.get(0)).build());
      // A write after the watch started: once it arrives, all the history before it has too.
      long fence = txnPut("r/fence/", 1);
      stream.awaitResponse(0, r -> r.getEventsList().stream()
          .anyMatch(e -> e.getKv().getModRevision() == fence));

      List<Long> delivered = new ArrayList<>();
      Set<Long> inEarlierResponses = new HashSet<>();
      for (WatchResponse r : stream.responses()) {
        assertThat(r.getEventsCount()).isLessThanOrEqualTo(limit);
        Set<Long> inThisResponse = new HashSet<>();
        for (Event e : r.getEventsList()) {
          delivered.add(e.getKv().getModRevision());
          inThisResponse.add(e.getKv().getModRevision());
        }
        // etcd clients resume after the last revision they got: a revision split over two
        // responses would lose its tail on a reconnect.
        assertThat(Collections.disjoint(inThisResponse, inEarlierResponses))
            .as("revisions %s split across responses", inThisResponse).isTrue();
        inEarlierResponses.addAll(inThisResponse);
      }
      // Compared as events per revision, in order, so that a failure reads as what was missed.
      Map<Long, Integer> expected = new LinkedHashMap<>();
      for (int i = 0; i < revisions.size(); i++) {
        expected.put(revisions.get(i), sizes.get(i));
      }
      expected.put(fence, 1);
      Map<Long, Integer> perRevision = new LinkedHashMap<>();
      delivered.forEach(revision -> perRevision.merge(revision, 1, Integer::sum));
      assertThat(delivered).as("revision order").isSorted();
      assertThat(perRevision).as("events per revision").containsExactlyEntriesOf(expected);
    }
  }
}
