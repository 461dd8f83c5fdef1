package org.apsara.pangu.master.namespace;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reads run beside the apply thread and each sees one applied state, never half a record. */
class ConcurrentReadTest {
  static final int ROUNDS = 400;

  @TempDir Path dir;

  @Test
  void aReadNeverSeesHalfARecord() throws Exception {
    try (TestNamespace ns = new TestNamespace(dir.resolve("ns"))) {
      AtomicBoolean done = new AtomicBoolean();
      AtomicReference<Throwable> failure = new AtomicReference<>();
      AtomicInteger reads = new AtomicInteger();
      Thread reader = new Thread(() -> {
        try {
          while (!done.get()) {
            // One call, one snapshot: every listed entry's inode is there (else the read would
            // find a dangling entry), and a directory renamed in whole is seen whole.
            DirectoryListing listing = ns.namespace.list("/", "", NamespaceLimits.MAX_LIST_ENTRIES);
            for (FileStatus entry : listing.entries()) {
              if (!entry.name().equals("staging")) {
                assertThat(entry.usage()).isEqualTo(new ContentSummary(1, 1, 10, 30, -1, -1));
              }
            }
            reads.incrementAndGet();
          }
        } catch (Throwable t) {
          failure.set(t);
        }
      }, "namespace-reader");
      reader.start();
      try {
        for (int i = 0; i < ROUNDS; i++) {
          // Prepared aside, published by one rename, removed by one delete.
          String staged = "/staging/d" + i;
          ns.mkdirs(staged);
          ns.writeFile(staged + "/f", "w", 10);
          ns.status(p -> p.rename(staged, staged.replace("/staging", "")));
          if (i % 2 == 1) {
            ns.delete("/d" + (i - 1), true);
            ns.reclaimAll();
          }
        }
      } finally {
        done.set(true);
        reader.join();
      }
      assertThat(failure.get()).isNull();
      assertThat(reads.get()).isPositive();
    }
  }

  @Test
  void callsAfterCloseFailCleanly() throws Exception {
    TestNamespace ns = new TestNamespace(dir.resolve("closed"));
    ns.mkdirs("/a");
    ns.close();
    assertThatThrownBy(() -> ns.namespace.getStatus("/a")).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> ns.namespace.apply(1, 99,
        org.apsara.pangu.master.namespace.proto.NamespaceRecord.getDefaultInstance()))
        .isInstanceOf(IllegalStateException.class);
  }
}
