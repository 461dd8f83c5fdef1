package org.apsara.pangu.master.namespace;

import static org.apsara.pangu.master.namespace.NamespaceErrorCode.CHUNK_NOT_COMMITTED;
import static org.apsara.pangu.master.namespace.NamespaceErrorCode.IS_A_DIRECTORY;
import static org.apsara.pangu.master.namespace.NamespaceErrorCode.LEASE_EXPIRED;
import static org.apsara.pangu.master.namespace.NamespaceErrorCode.LEASE_HELD_BY_OTHER;
import static org.apsara.pangu.master.namespace.NamespaceErrorCode.NOT_FOUND;
import static org.apsara.pangu.master.namespace.TestNamespace.CHUNK;
import static org.apsara.pangu.master.namespace.TestNamespace.LEASE;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Writer leases on an injected clock: expiry, renewal, recovery. */
class LeaseTest {
  static final Duration JUST_UNDER = LEASE.minusMillis(1);

  @TempDir Path dir;
  TestNamespace ns;

  @BeforeEach
  void open() {
    ns = new TestNamespace(dir.resolve("ns"));
  }

  @AfterEach
  void close() {
    ns.close();
  }

  @Test
  void aLeaseLastsItsDurationAndThenTheHolderLosesTheFile() throws Exception {
    FileStatus f = ns.create("/f", "w");
    ns.clock.advance(JUST_UNDER);
    ChunkInfo chunk = ns.addChunk(f.inodeId(), "w");
    ns.clock.advance(Duration.ofMillis(1));
    String expiry = Instant.ofEpochMilli(f.leaseExpiryMs()).toString();
    ns.assertRefused(LEASE_EXPIRED, p -> p.commitChunk(f.inodeId(), "w", 0, chunk.chunkId(), 1, 9),
        "the lease of client 'w' on /f expired at " + expiry);
    ns.assertRefused(LEASE_EXPIRED, p -> p.addChunk(f.inodeId(), "w"));
    ns.assertRefused(LEASE_EXPIRED, p -> p.close(f.inodeId(), "w"));
  }

  @Test
  void renewalExtendsEveryLiveLeaseOfTheClient() throws Exception {
    FileStatus a = ns.create("/a", "w");
    FileStatus b = ns.create("/b", "w");
    ns.create("/other", "someone-else");
    ns.clock.advance(JUST_UNDER);
    assertThat(ns.run(p -> p.renewLease("w"))).isEqualTo(new NamespaceReply.LeasesRenewed(2, 0));
    long renewedExpiry = ns.clock.millis() + LEASE.toMillis();
    assertThat(ns.namespace.getStatus("/a").leaseExpiryMs()).isEqualTo(renewedExpiry);
    assertThat(ns.namespace.getStatus("/b").leaseExpiryMs()).isEqualTo(renewedExpiry);

    ns.clock.advance(JUST_UNDER);
    // Past the original expiry, within the renewed one: the writer goes on.
    ns.commit(ns.addChunk(a.inodeId(), "w"), "w", 10);
    ns.close(a.inodeId(), "w");
    assertThat(ns.namespace.getStatus("/other").open()).isTrue();

    ns.clock.advance(Duration.ofMillis(1));
    // Expired leases are not revived by a late renewal.
    assertThat(ns.run(p -> p.renewLease("w"))).isEqualTo(new NamespaceReply.LeasesRenewed(0, 1));
    ns.assertRefused(LEASE_EXPIRED, p -> p.addChunk(b.inodeId(), "w"));
    assertThat(ns.run(p -> p.renewLease("nobody"))).isEqualTo(new NamespaceReply.LeasesRenewed(0, 0));
  }

  @Test
  void anotherClientRecoversOnlyAfterExpiry() throws Exception {
    FileStatus f = ns.create("/f", "w");
    ns.commit(ns.addChunk(f.inodeId(), "w"), "w", 100);
    ChunkInfo unfinished = ns.addChunk(f.inodeId(), "w");
    assertThat(ns.namespace.contentSummary("/").spaceConsumedBytes())
        .isEqualTo(3 * (100 + CHUNK));

    ns.clock.advance(JUST_UNDER);
    String expiry = Instant.ofEpochMilli(f.leaseExpiryMs()).toString();
    ns.assertRefused(LEASE_HELD_BY_OTHER, p -> p.recoverLease("/f", "recoverer"),
        "/f is being written by client 'w' whose lease expires at " + expiry,
        "(" + f.leaseExpiryMs() + " ms)");
    ns.assertRefused(LEASE_HELD_BY_OTHER, p -> p.append("/f", "recoverer"), "client 'w'");

    ns.clock.advance(Duration.ofMillis(1));
    // Without a decision on the uncommitted chunk nothing is dropped by omission.
    ns.assertRefused(CHUNK_NOT_COMMITTED, p -> p.recoverLease("/f", "recoverer"),
        "uncommitted chunk 1");
    ns.assertRefused(CHUNK_NOT_COMMITTED, p -> p.append("/f", "recoverer"),
        "expired with chunk 1 uncommitted");
    FileStatus recovered = ns.status(p -> p.recoverLeaseDroppingLastChunk("/f", "recoverer"));
    assertThat(recovered.open()).isFalse();
    assertThat(recovered.leaseHolder()).isEmpty();
    assertThat(recovered.lengthBytes()).isEqualTo(100);
    assertThat(recovered.chunkCount()).isEqualTo(1);
    assertThat(ns.namespace.garbageChunks(0, 10))
        .containsExactly(new GarbageChunkInfo(unfinished.chunkId(), f.inodeId(), 1, 0));
    assertThat(ns.namespace.contentSummary("/").spaceConsumedBytes()).isEqualTo(3 * 100);
    assertThat(ns.namespace.openFiles(null, 10)).isEmpty();

    // Recovering a closed file is a no-op that reports it closed.
    assertThat(ns.status(p -> p.recoverLease("/f", "recoverer"))).isEqualTo(recovered);
    ns.mkdirs("/d");
    ns.assertRefused(IS_A_DIRECTORY, p -> p.recoverLease("/d", "recoverer"));
    ns.assertRefused(NOT_FOUND, p -> p.recoverLease("/nope", "recoverer"));
  }

  @Test
  void theHolderMayRecoverItsOwnFileAtAnyTime() throws Exception {
    FileStatus f = ns.create("/f", "w");
    ns.addChunk(f.inodeId(), "w");
    FileStatus recovered = ns.status(p -> p.recoverLeaseDroppingLastChunk("/f", "w"));
    assertThat(recovered.open()).isFalse();
    assertThat(recovered.chunkCount()).isZero();
  }

  @Test
  void appendAndOverwriteTakeOverAnExpiredLease() throws Exception {
    FileStatus f = ns.create("/f", "w");
    ns.commit(ns.addChunk(f.inodeId(), "w"), "w", 7);
    ns.create("/g", "w");
    ns.addChunk(ns.namespace.getStatus("/g").inodeId(), "w");
    ns.clock.advance(LEASE);

    FileStatus appended = ns.status(p -> p.append("/f", "next"));
    assertThat(appended.leaseHolder()).isEqualTo("next");
    assertThat(appended.lengthBytes()).isEqualTo(7);
    assertThat(appended.chunkCount()).isEqualTo(1);
    assertThat(appended.lastChunkOpen()).isFalse();

    FileStatus replaced = ns.create("/g", "next", true, 3);
    assertThat(replaced.leaseHolder()).isEqualTo("next");
    assertThat(ns.namespace.openFiles(null, 10)).extracting(OpenFile::clientName)
        .containsOnly("next");
  }

  @Test
  void openFilesArePagedForTheLeaseMonitor() throws Exception {
    FileStatus a = ns.create("/a", "c1");
    FileStatus b = ns.create("/b", "c1");
    FileStatus c = ns.create("/c", "c2");
    long expiry = a.leaseExpiryMs();
    assertThat(ns.namespace.openFiles(null, 2)).containsExactly(
        new OpenFile("c1", a.inodeId(), expiry), new OpenFile("c1", b.inodeId(), expiry));
    assertThat(ns.namespace.openFiles(new OpenFile("c1", b.inodeId(), 0), 2))
        .containsExactly(new OpenFile("c2", c.inodeId(), expiry));
  }
}
