package org.apsara.pangu.master.namespace;

import static org.apsara.pangu.master.namespace.NamespaceErrorCode.NOT_FOUND;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.apsara.pangu.master.namespace.NamespaceStore.Column;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The cache of inodes and directory entries: whom a value may be served to, and when not. */
class AppliedValueCacheTest {
  @TempDir Path dir;

  private static byte[] key(int i) {
    return Keys.id(i);
  }

  @Test
  void aValueIsServedOnlyToStatesThatHoldItsIndex() {
    AppliedValueCache cache = new AppliedValueCache();
    cache.put(Column.INODES, key(7), new byte[] {1}, 10);

    // A snapshot that may be older than the write must read the store.
    assertThat(cache.get(Column.INODES, key(7), 9)).isNull();
    assertThat(cache.get(Column.INODES, key(7), 10)).containsExactly(1);
    assertThat(cache.get(Column.INODES, key(7), 11)).containsExactly(1);
    // Keys are compared by content, and columns are apart.
    assertThat(cache.get(Column.INODES, Keys.id(7), 10)).containsExactly(1);
    assertThat(cache.get(Column.DENTRIES, key(7), 10)).isNull();

    cache.remove(Column.INODES, key(7));
    assertThat(cache.get(Column.INODES, key(7), 11)).isNull();
  }

  @Test
  void aFullCacheStartsOverInsteadOfGrowing() {
    AppliedValueCache cache = new AppliedValueCache(1_000);
    for (int i = 0; i < 1_000; i++) {
      cache.put(i % 2 == 0 ? Column.INODES : Column.DENTRIES, key(i), new byte[] {1}, 1);
    }
    assertThat(cache.size()).isEqualTo(1_000);

    cache.put(Column.INODES, key(-1), new byte[] {2}, 1);

    assertThat(cache.size()).isEqualTo(1);
    assertThat(cache.get(Column.INODES, key(-1), 1)).containsExactly(2);
    assertThat(cache.get(Column.INODES, key(0), 1)).isNull();
  }

  @Test
  void theCacheGrowsWithTheHeap() {
    long gib = 1L << 30;
    // An eighth of the heap at 256 bytes an entry: a 1 GiB heap keeps a quarter of a million
    // files' inodes and directory entries, a 32 GiB heap some eight million.
    assertThat(AppliedValueCache.entriesFor(gib)).isEqualTo(524_288);
    assertThat(AppliedValueCache.entriesFor(32 * gib)).isEqualTo(16_777_216);
    assertThat(AppliedValueCache.entriesFor(16L << 20)).isEqualTo(AppliedValueCache.ENTRIES_MIN);
    assertThat(new AppliedValueCache().entriesMax())
        .isEqualTo(AppliedValueCache.entriesFor(Runtime.getRuntime().maxMemory()));
    assertThatThrownBy(() -> new AppliedValueCache(0))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void readsNeverSeeAValueAChangeReplaced() throws Exception {
    try (TestNamespace ns = new TestNamespace(dir.resolve("ns"))) {
      ns.mkdirs("/a/b");
      FileStatus created = ns.writeFile("/a/b/f", "w", 10);
      assertThat(ns.namespace.getStatus("/a/b/f").inodeId()).isEqualTo(created.inodeId());
      assertThat(ns.namespace.cachedValues()).isPositive();

      ns.status(p -> p.rename("/a/b/f", "/a/g"));
      assertThatThrownBy(() -> ns.namespace.getStatus("/a/b/f")).satisfies(
          TestNamespace.refusedWith(NOT_FOUND));
      assertThat(ns.namespace.getStatus("/a/g").inodeId()).isEqualTo(created.inodeId());
      assertThat(ns.namespace.getStatus("/a").usage().files()).isEqualTo(1);

      ns.delete("/a/g", false);
      assertThatThrownBy(() -> ns.namespace.getStatus("/a/g")).satisfies(
          TestNamespace.refusedWith(NOT_FOUND));
      assertThat(ns.namespace.getStatus("/a").usage().files()).isZero();

      // The same name again is a new file, not the cached old one.
      FileStatus again = ns.create("/a/g", "w");
      assertThat(again.inodeId()).isNotEqualTo(created.inodeId());
      assertThat(ns.namespace.getStatus("/a/g").inodeId()).isEqualTo(again.inodeId());
      assertThat(ns.namespace.getStatus("/a/g").open()).isTrue();
    }
  }

  @Test
  void aReopenedNamespaceReadsWhatTheCachedOneWrote() throws Exception {
    long fileId;
    try (TestNamespace ns = new TestNamespace(dir.resolve("ns"))) {
      ns.mkdirs("/d");
      fileId = ns.writeFile("/d/f", "w", 10).inodeId();
      ns.status(p -> p.setPermission("/d/f", 0600));
      assertThat(ns.namespace.getStatus("/d/f").mode()).isEqualTo(0600);
    }
    try (TestNamespace reopened = new TestNamespace(dir.resolve("ns"))) {
      FileStatus status = reopened.namespace.getStatus("/d/f");
      assertThat(status.inodeId()).isEqualTo(fileId);
      assertThat(status.mode()).isEqualTo(0600);
    }
  }
}
