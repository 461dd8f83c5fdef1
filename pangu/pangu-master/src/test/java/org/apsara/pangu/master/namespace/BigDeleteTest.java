package org.apsara.pangu.master.namespace;

import static org.apsara.pangu.master.namespace.TestNamespace.CHUNK;
import static org.apsara.pangu.master.namespace.TestNamespace.GROUP;
import static org.apsara.pangu.master.namespace.TestNamespace.OWNER;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apsara.pangu.master.namespace.NamespaceStore.Column;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A recursive delete of 20,000 files vanishes in one small record and is reclaimed in batches. */
class BigDeleteTest {
  static final int DIRECTORIES = 20;
  static final int FILES_PER_DIRECTORY = 1000;
  static final int RECLAIM_UNITS = 1000;
  /** Every tenth file has two chunks. */
  static final int FILES_WITH_CHUNKS = DIRECTORIES * FILES_PER_DIRECTORY / 10;

  @TempDir Path dir;

  @Test
  void aHugeSubtreeVanishesAtOnceAndIsReclaimedInBoundedBatches() throws Exception {
    try (TestNamespace ns = new TestNamespace(dir.resolve("ns"),
        new ProposerConfig(TestNamespace.LEASE, RECLAIM_UNITS))) {
      Set<Long> chunkIds = populate(ns);
      ns.writeFile("/keep/f", "keeper", 42);
      ContentSummary big = ns.namespace.contentSummary("/big");
      assertThat(big.files()).isEqualTo(DIRECTORIES * FILES_PER_DIRECTORY);
      assertThat(big.directories()).isEqualTo(DIRECTORIES + 1);

      List<Namespace.RawEntry> before = ns.namespace.rawEntries();
      NamespaceReply.Deleted deleted = ns.delete("/big", true);
      assertThat(deleted.detached()).isTrue();
      // The record touched a handful of keys, not the subtree: it stays small however big.
      List<Namespace.RawEntry> after = ns.namespace.rawEntries();
      assertThat(changedKeys(before, after)).isLessThanOrEqualTo(8);

      // Gone from the namespace at once.
      assertThatThrownBy(() -> ns.namespace.getStatus("/big"))
        .satisfies(TestNamespace.refusedWith(NamespaceErrorCode.NOT_FOUND));
      assertThatThrownBy(() -> ns.namespace.getStatus("/big/d3/f7"))
          .isInstanceOf(NamespaceException.class);
      assertThat(ns.namespace.list("/", "", 10).entries()).extracting(FileStatus::name)
          .containsExactly("keep");
      assertThat(ns.namespace.contentSummary("/"))
          .isEqualTo(new ContentSummary(1, 2, 42, 3 * 42, -1, -1));
      assertThat(ns.namespace.reclaimPending()).isTrue();

      // The namespace goes on while the subtree is reclaimed, even at the same path.
      ns.mkdirs("/big/again");
      int records = 0;
      int inodes = 0;
      int chunks = 0;
      while (ns.namespace.reclaimPending()) {
        NamespaceReply.Reclaimed batch =
            (NamespaceReply.Reclaimed) ns.run(NamespaceProposer::reclaimDeleted);
        assertThat(batch.inodesFreed() + batch.garbageChunks()).isBetween(1, RECLAIM_UNITS);
        inodes += batch.inodesFreed();
        chunks += batch.garbageChunks();
        records++;
        assertThat(batch.done()).isEqualTo(!ns.namespace.reclaimPending());
        if (records == 3) {
          ns.writeFile("/big/again/g", "keeper", 1);
        }
      }
      int units = DIRECTORIES * FILES_PER_DIRECTORY + DIRECTORIES + 1 + 2 * FILES_WITH_CHUNKS;
      assertThat(inodes).isEqualTo(DIRECTORIES * FILES_PER_DIRECTORY + DIRECTORIES + 1);
      assertThat(chunks).isEqualTo(2 * FILES_WITH_CHUNKS);
      assertThat(records).isBetween(units / RECLAIM_UNITS, units / RECLAIM_UNITS + DIRECTORIES + 3);

      // Nothing of the subtree is left but its chunks, listed as garbage.
      Set<Long> garbage = new HashSet<>();
      long after2 = 0;
      List<GarbageChunkInfo> page;
      while (!(page = ns.namespace.garbageChunks(after2, NamespaceLimits.MAX_READ_ENTRIES)).isEmpty()) {
        page.forEach(g -> garbage.add(g.chunkId()));
        after2 = page.get(page.size() - 1).chunkId();
      }
      assertThat(garbage).isEqualTo(chunkIds);
      assertThat(ns.namespace.openFiles(null, 10)).isEmpty();
      assertThat(count(ns, Column.INODES)).isEqualTo(6); // /, /keep, /keep/f, /big, /big/again, g
      assertThat(count(ns, Column.DENTRIES)).isEqualTo(5);
      assertThat(count(ns, Column.CHUNKS)).isEqualTo(2);
      assertThat(count(ns, Column.RECLAIM)).isZero();
    }
  }

  /** 20 directories of 1000 files, all left open: their leases must go with them. */
  private static Set<Long> populate(TestNamespace ns) throws NamespaceException {
    Set<Long> chunkIds = new HashSet<>();
    ns.mkdirs("/keep");
    for (int d = 0; d < DIRECTORIES; d++) {
      String parent = "/big/d" + d;
      ns.apply(ns.unchecked.mkdirs(parent, 0755, OWNER, GROUP)).orThrow();
      String client = "writer-" + d;
      for (int f = 0; f < FILES_PER_DIRECTORY; f++) {
        FileStatus file = ((NamespaceReply.Status) ns.apply(ns.unchecked.create(
            parent + "/f" + f, client, false, 1, CHUNK, 0644, OWNER, GROUP)).orThrow()).status();
        if (f % 10 == 0) {
          for (int c = 0; c < 2; c++) {
            ChunkInfo chunk = ((NamespaceReply.Chunk) ns.apply(
                ns.unchecked.addChunk(file.inodeId(), client)).orThrow()).chunk();
            ns.apply(ns.unchecked.commitChunk(file.inodeId(), client, chunk.index(),
                chunk.chunkId(), 1, 100)).orThrow();
            chunkIds.add(chunk.chunkId());
          }
        }
      }
      ns.clock.advance(Duration.ofMillis(1));
    }
    return chunkIds;
  }

  private static long count(TestNamespace ns, Column column) {
    return ns.namespace.rawEntries().stream().filter(e -> e.column() == column).count();
  }

  private static int changedKeys(List<Namespace.RawEntry> before, List<Namespace.RawEntry> after) {
    Set<String> a = new HashSet<>();
    for (Namespace.RawEntry e : before) {
      a.add(describe(e));
    }
    List<String> changed = new ArrayList<>();
    Set<String> b = new HashSet<>();
    for (Namespace.RawEntry e : after) {
      String s = describe(e);
      b.add(s);
      if (!a.contains(s)) {
        changed.add(s);
      }
    }
    for (String s : a) {
      if (!b.contains(s)) {
        changed.add(s);
      }
    }
    return changed.size();
  }

  private static String describe(Namespace.RawEntry e) {
    return e.column() + java.util.HexFormat.of().formatHex(e.key()) + "="
        + java.util.HexFormat.of().formatHex(e.value());
  }
}
