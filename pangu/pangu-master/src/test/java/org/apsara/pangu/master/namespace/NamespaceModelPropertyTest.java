package org.apsara.pangu.master.namespace;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.EdgeCasesMode;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.statistics.Statistics;
import org.apsara.pangu.master.namespace.ReferenceModel.Node;
import org.apsara.pangu.master.namespace.ReferenceModel.Refused;

/**
 * Random operation sequences applied to the RocksDB namespace and to {@link ReferenceModel} give
 * the same result for every operation and the same tree after it; every directory's counters
 * equal a recount after every operation; after reclaiming, the garbage chunks are exactly the
 * allocated chunks no file refers to.
 */
class NamespaceModelPropertyTest {
  static final List<String> CLIENTS = List.of("c1", "c2");
  static final long CHUNK = NamespaceLimits.MIN_CHUNK_SIZE_BYTES;
  /** Directories a, b, a/a, a/b, b/a, b/b; files f and g in the root and in each of them. */
  static final List<String> DIRECTORIES =
      List.of("/a", "/b", "/a/a", "/a/b", "/b/a", "/b/b");
  static final List<String> FILES = files();

  private static List<String> files() {
    List<String> files = new ArrayList<>(List.of("/f", "/g"));
    for (String dir : DIRECTORIES) {
      files.add(dir + "/f");
      files.add(dir + "/g");
    }
    return files;
  }

  sealed interface Op {}

  record Mkdirs(String path) implements Op {}

  record Create(String path, String client, boolean overwrite, int replication) implements Op {}

  record Append(String path, String client) implements Op {}

  /**
   * Operations on a file pick one of the files that exist ({@code pick} modulo their number) and
   * act as its lease holder when {@code asHolder} and it has one, else as {@code client}.
   */
  record AddChunk(int pick, boolean asHolder, String client) implements Op {}

  record Commit(int pick, boolean asHolder, String client, long length) implements Op {}

  record Close(int pick, boolean asHolder, String client) implements Op {}

  record Renew(String client) implements Op {}

  record Recover(String path, String client) implements Op {}

  record Rename(String source, String destination) implements Op {}

  record Delete(String path, boolean recursive) implements Op {}

  record SetQuota(String path, long names, long spaceBytes) implements Op {}

  record SetPermission(String path, int mode) implements Op {}

  record Advance(long millis) implements Op {}

  record Reclaim() implements Op {}

  /** {@code viaLog}: skip the leader's dry run, so the apply alone judges the record. */
  record Step(Op op, boolean viaLog) {}

  @Property(tries = 200, edgeCases = EdgeCasesMode.NONE)
  void theNamespaceBehavesLikeTheModel(@ForAll("steps") List<Step> steps) throws Exception {
    Path dir = Files.createTempDirectory("pangu-namespace-property");
    try (TestNamespace ns = new TestNamespace(dir, new ProposerConfig(TestNamespace.LEASE, 3))) {
      ReferenceModel model = new ReferenceModel();
      for (Step step : steps) {
        model.timeMs = ns.clock.millis();
        String real;
        String expected;
        Op op = step.op();
        if (op instanceof Renew renew && ns.namespace.reclaimPending()) {
          // Files of a deleted subtree keep their leases until reclaimed and count in the reply.
          real = outcome(() -> run(ns, step, p -> p.renewLease(renew.client())));
          model.renew(renew.client());
          expected = "ok";
        } else {
          String[] results = execute(ns, model, step);
          real = results[0];
          expected = results[1];
        }
        assertThat(real).as("%s", step).isEqualTo(expected);
        // Which outcomes the sequences reach; jqwik reports it with a failure.
        Statistics.collect(op.getClass().getSimpleName(), real.matches("\\d+/\\d+") ? "ok" : real);
        assertSameTree(ns, model);
      }
      ns.reclaimAll();
      assertSameTree(ns, model);
      Set<Long> garbage = ns.namespace.garbageChunks(0, NamespaceLimits.MAX_READ_ENTRIES).stream()
          .map(GarbageChunkInfo::chunkId).collect(Collectors.toSet());
      Set<Long> dead = new HashSet<>(model.allocatedChunks);
      dead.removeAll(model.liveChunks());
      assertThat(garbage).isEqualTo(dead);
      Set<OpenFile> open = new HashSet<>();
      for (Node n : model.nodes.values()) {
        if (!n.dir && n.open) {
          open.add(new OpenFile(n.holder, n.realId, n.expiry));
        }
      }
      assertThat(new HashSet<>(ns.namespace.openFiles(null, NamespaceLimits.MAX_READ_ENTRIES)))
          .isEqualTo(open);
    } finally {
      try (Stream<Path> paths = Files.walk(dir)) {
        for (Path p : (Iterable<Path>) paths.sorted(Comparator.reverseOrder())::iterator) {
          Files.delete(p);
        }
      }
    }
  }

  /** Runs one step on both sides; returns {real outcome, model outcome}. */
  private static String[] execute(TestNamespace ns, ReferenceModel model, Step step)
      throws IOException {
    String owner = TestNamespace.OWNER;
    String group = TestNamespace.GROUP;
    Op op = step.op();
    if (op instanceof Mkdirs m) {
      return new String[] {
        outcome(() -> run(ns, step, p -> p.mkdirs(m.path(), 0755, owner, group))),
        outcome(() -> model.mkdirs(m.path(), 0755))};
    } else if (op instanceof Create c) {
      long[] id = {0};
      String real = outcome(() -> id[0] = ((NamespaceReply.Status) run(ns, step,
          p -> p.create(c.path(), c.client(), c.overwrite(), c.replication(), CHUNK, 0644,
              owner, group))).status().inodeId());
      String expected = outcome(() ->
          model.create(c.path(), c.client(), c.overwrite(), c.replication(), CHUNK).realId = id[0]);
      return new String[] {real, expected};
    } else if (op instanceof Append a) {
      return new String[] {
        outcome(() -> run(ns, step, p -> p.append(a.path(), a.client()))),
        outcome(() -> model.append(a.path(), a.client()))};
    } else if (op instanceof AddChunk a) {
      String path = pickFile(model, a.pick());
      if (path == null) {
        return new String[] {"skipped", "skipped"};
      }
      Node file = model.nodes.get(path);
      String client = actor(file, a.asHolder(), a.client());
      long[] chunkId = {-1};
      String real = outcome(() -> chunkId[0] = ((NamespaceReply.Chunk) run(ns, step,
          p -> p.addChunk(file.realId, client))).chunk().chunkId());
      String expected = outcome(() -> model.addChunk(path, client, chunkId[0]));
      return new String[] {real, expected};
    } else if (op instanceof Commit c) {
      String path = pickFile(model, c.pick());
      Node file = path == null ? null : model.nodes.get(path);
      if (file == null || file.chunks.isEmpty()) {
        return new String[] {"skipped", "skipped"};
      }
      String client = actor(file, c.asHolder(), c.client());
      int index = file.chunks.size() - 1;
      long chunkId = file.chunks.get(index)[0];
      return new String[] {
        outcome(() -> run(ns, step,
            p -> p.commitChunk(file.realId, client, index, chunkId, 1, c.length()))),
        outcome(() -> model.commit(path, client, c.length()))};
    } else if (op instanceof Close c) {
      String path = pickFile(model, c.pick());
      if (path == null) {
        return new String[] {"skipped", "skipped"};
      }
      Node file = model.nodes.get(path);
      String client = actor(file, c.asHolder(), c.client());
      return new String[] {
        outcome(() -> run(ns, step, p -> p.close(file.realId, client))),
        outcome(() -> model.close(path, client))};
    } else if (op instanceof Renew r) {
      String[] counts = {""};
      String result = outcome(() -> {
        NamespaceReply.LeasesRenewed reply =
            (NamespaceReply.LeasesRenewed) run(ns, step, p -> p.renewLease(r.client()));
        counts[0] = reply.renewed() + "/" + reply.expired();
      });
      int[] expected = model.renew(r.client());
      return new String[] {result.equals("ok") ? counts[0] : result,
          expected[0] + "/" + expected[1]};
    } else if (op instanceof Recover r) {
      return new String[] {
        outcome(() -> run(ns, step,
            p -> p.recoverLeaseDroppingLastChunk(r.path(), r.client()))),
        outcome(() -> model.recoverLease(r.path(), r.client()))};
    } else if (op instanceof Rename r) {
      return new String[] {
        outcome(() -> run(ns, step, p -> p.rename(r.source(), r.destination()))),
        outcome(() -> model.rename(r.source(), r.destination()))};
    } else if (op instanceof Delete d) {
      return new String[] {
        outcome(() -> run(ns, step, p -> p.delete(d.path(), d.recursive()))),
        outcome(() -> model.delete(d.path(), d.recursive()))};
    } else if (op instanceof SetQuota q) {
      return new String[] {
        outcome(() -> run(ns, step, p -> p.setQuota(q.path(), q.names(), q.spaceBytes()))),
        outcome(() -> model.setQuota(q.path(), q.names(), q.spaceBytes()))};
    } else if (op instanceof SetPermission s) {
      return new String[] {
        outcome(() -> run(ns, step, p -> p.setPermission(s.path(), s.mode()))),
        outcome(() -> model.setPermission(s.path(), s.mode()))};
    } else if (op instanceof Advance a) {
      ns.clock.advance(Duration.ofMillis(a.millis()));
      return new String[] {"ok", "ok"};
    } else if (op instanceof Reclaim r) {
      return new String[] {outcome(ns::reclaimAll), "ok"};
    }
    throw new AssertionError("unknown op " + op);
  }

  private static String pickFile(ReferenceModel model, int pick) {
    List<String> files = model.nodes.entrySet().stream()
        .filter(e -> !e.getValue().dir).map(Map.Entry::getKey).toList();
    return files.isEmpty() ? null : files.get(pick % files.size());
  }

  private static String actor(Node file, boolean asHolder, String client) {
    return asHolder && file.open ? file.holder : client;
  }

  private static NamespaceReply run(TestNamespace ns, Step step, TestNamespace.Proposal proposal)
      throws NamespaceException {
    if (step.viaLog()) {
      return ns.apply(proposal.build(ns.unchecked)).orThrow();
    }
    return ns.run(proposal);
  }

  @FunctionalInterface
  interface Action {
    void run() throws Exception;
  }

  private static String outcome(Action action) {
    try {
      action.run();
      return "ok";
    } catch (NamespaceException e) {
      return e.code().name();
    } catch (Refused e) {
      return e.code.name();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  /** Same paths, attributes and chunks; every directory's counters equal the model's recount. */
  private static void assertSameTree(TestNamespace ns, ReferenceModel model) throws Exception {
    Map<String, String> real = new TreeMap<>();
    walk(ns.namespace, ns.namespace.getStatus("/"), real);
    Map<String, String> expected = new TreeMap<>();
    for (Map.Entry<String, Node> e : model.nodes.entrySet()) {
      expected.put(e.getKey(), describe(model, e.getKey(), e.getValue()));
    }
    assertThat(real).isEqualTo(expected);
  }

  private static void walk(Namespace namespace, FileStatus status, Map<String, String> out)
      throws NamespaceException {
    if (!status.directory()) {
      StringBuilder chunks = new StringBuilder();
      for (ChunkInfo c : namespace.chunks(status.path(), 0, NamespaceLimits.MAX_READ_ENTRIES)) {
        chunks.append(c.chunkId()).append(':').append(c.lengthBytes()).append(':')
            .append(c.sealed() ? 1 : 0).append(' ');
      }
      out.put(status.path(), String.format("file mode=%o len=%d repl=%d open=%s holder=%s "
              + "expiry=%d id=%d chunks=[%s]", status.mode(), status.lengthBytes(),
          status.replication(), status.open(), status.leaseHolder(), status.leaseExpiryMs(),
          status.inodeId(), chunks));
      return;
    }
    ContentSummary s = namespace.contentSummary(status.path());
    assertThat(status.usage()).isEqualTo(s);
    out.put(status.path(), String.format("dir mode=%o quota=%d/%d counts=%d/%d/%d/%d",
        status.mode(), s.nameQuota(), s.spaceQuotaBytes(), s.files(), s.directories(),
        s.lengthBytes(), s.spaceConsumedBytes()));
    DirectoryListing listing = namespace.list(status.path(), "", NamespaceLimits.MAX_LIST_ENTRIES);
    assertThat(listing.hasMore()).isFalse();
    for (FileStatus child : listing.entries()) {
      walk(namespace, child, out);
    }
  }

  private static String describe(ReferenceModel model, String path, Node n) {
    if (!n.dir) {
      StringBuilder chunks = new StringBuilder();
      for (long[] c : n.chunks) {
        chunks.append(c[0]).append(':').append(c[1]).append(':').append(c[2]).append(' ');
      }
      return String.format("file mode=%o len=%d repl=%d open=%s holder=%s expiry=%d id=%d "
              + "chunks=[%s]", n.mode, n.length, n.replication, n.open, n.holder, n.expiry,
          n.realId, chunks);
    }
    long[] c = model.count(path);
    return String.format("dir mode=%o quota=%d/%d counts=%d/%d/%d/%d", n.mode, n.nameQuota,
        n.spaceQuota, c[0], c[1], c[2], c[3]);
  }

  @Provide
  Arbitrary<List<Step>> steps() {
    Arbitrary<String> dir = Arbitraries.of(DIRECTORIES);
    Arbitrary<String> file = Arbitraries.of(FILES);
    Arbitrary<String> path = Arbitraries.frequencyOf(Tuple.of(1, dir), Tuple.of(1, file));
    Arbitrary<String> anyPath = Arbitraries.frequencyOf(
        Tuple.of(1, Arbitraries.just("/")), Tuple.of(15, path));
    Arbitrary<String> client = Arbitraries.of(CLIENTS);
    Arbitrary<Boolean> flag = Arbitraries.of(true, false);
    Arbitrary<Integer> pick = Arbitraries.integers().between(0, 1000);
    Arbitrary<Boolean> mostly = Arbitraries.frequency(Tuple.of(4, true), Tuple.of(1, false));
    Arbitrary<Op> op = Arbitraries.frequencyOf(
        Tuple.of(6, Arbitraries.frequencyOf(Tuple.of(8, dir), Tuple.of(1, file)).map(Mkdirs::new)),
        Tuple.of(8, Combinators.combine(Arbitraries.frequencyOf(Tuple.of(8, file), Tuple.of(1, dir)),
            client, flag, Arbitraries.integers().between(1, 3)).as(Create::new)),
        Tuple.of(2, Combinators.combine(file, client).as(Append::new)),
        Tuple.of(8, Combinators.combine(pick, mostly, client).as(AddChunk::new)),
        Tuple.of(8, Combinators.combine(pick, mostly, client,
            Arbitraries.longs().between(0, CHUNK)).as(Commit::new)),
        Tuple.of(4, Combinators.combine(pick, mostly, client).as(Close::new)),
        Tuple.of(1, client.map(Renew::new)),
        Tuple.of(2, Combinators.combine(file, client).as(Recover::new)),
        Tuple.of(4, Combinators.combine(anyPath, anyPath).as(Rename::new)),
        Tuple.of(2, Combinators.combine(anyPath, flag).as(Delete::new)),
        Tuple.of(2, Combinators.combine(anyPath, Arbitraries.of(-1L, 3L, 5L, 8L),
            Arbitraries.of(-1L, 0L, 2 * CHUNK, 5 * CHUNK, 20 * CHUNK)).as(SetQuota::new)),
        Tuple.of(1, Combinators.combine(path, Arbitraries.integers().between(0, 0777))
            .as(SetPermission::new)),
        Tuple.of(2, Arbitraries.longs().between(0, 70_000).map(Advance::new)),
        Tuple.of(1, Arbitraries.just(new Reclaim())));
    Arbitrary<Step> step = Combinators.combine(op, Arbitraries.integers().between(0, 3))
        .as((o, i) -> new Step(o, i == 0));
    return step.list().ofMinSize(20).ofMaxSize(80);
  }
}
