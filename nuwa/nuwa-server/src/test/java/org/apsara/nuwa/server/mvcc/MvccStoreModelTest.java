package org.apsara.nuwa.server.mvcc;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.CompactionRequest;
import io.etcd.jetcd.api.DeleteRangeRequest;
import io.etcd.jetcd.api.DeleteRangeResponse;
import io.etcd.jetcd.api.Event;
import io.etcd.jetcd.api.KeyValue;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.PutResponse;
import io.etcd.jetcd.api.RangeRequest;
import io.etcd.jetcd.api.RangeResponse;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Objects;
import java.util.Random;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * Properties of the store checked on random operation sequences: it behaves as a deliberately
 * naive model (a full copy of the key-value map for every revision), and replicas replaying the
 * same operations write the same snapshot bytes. Keys are Latin-1 strings, whose {@code String}
 * order is the unsigned byte order the store must use, computed independently of the store.
 *
 * <p>Each sequence comes from its own seed, so a failure names the seed and the shortest failing
 * sequence found by dropping operations; {@code -Dnuwa.mvcc.seed=N} starts from another seed.
 */
class MvccStoreModelTest {
  /** Keys chosen to make signed and unsigned byte order disagree, and to share prefixes. */
  private static final List<String> KEYS =
      List.of("a", "ab", "b", "\u007f", "\u0080", "\u00ff", "\u00ff\u0000");
  /** Operation sequences tried per property. */
  private static final int SEQUENCES = 300;
  private static final int MAX_OPS = 60;
  private static final long BASE_SEED = Long.getLong("nuwa.mvcc.seed", 20_240_611L);

  sealed interface Op permits Put, Delete, Range, Compact {}

  record Put(int key, int value) implements Op {}

  /** {@code end} is -1 for a single key, {@code KEYS.size()} for "from key", else an index. */
  record Delete(int key, int end) implements Op {}

  record Range(int key, int end, int revisionsBack, int limit) implements Op {}

  record Compact(int revisionsBack) implements Op {}

  record ModelKv(String value, long create, long mod, long version) {}

  @Test
  void storeBehavesAsTheModel() {
    forAllSequences(ops -> {
      MvccStore store = new MvccStore();
      Model model = new Model();
      for (Op op : ops) {
        apply(store, model, op);
        assertThat(store.revision()).isEqualTo(model.revision());
        assertThat(store.compactRevision()).isEqualTo(model.compactRevision);
      }
      checkEvents(store, model);
    });
  }

  @Test
  void replicasReplayingTheSameOpsWriteTheSameSnapshot() {
    forAllSequences(ops -> {
      MvccStore first = new MvccStore();
      MvccStore second = new MvccStore();
      for (Op op : ops) {
        Object a = applyQuietly(first, op);
        Object b = applyQuietly(second, op);
        assertThat(a).isEqualTo(b);
      }
      byte[] bytes = snapshot(first);
      assertThat(snapshot(second)).isEqualTo(bytes);

      MvccStore restored = read(bytes);
      assertThat(snapshot(restored)).isEqualTo(bytes);
      for (long r = Math.max(1, first.compactRevision()); r <= first.revision(); r++) {
        RangeRequest all = Kv.all().setRevision(r).build();
        assertThat(restored.range(all)).isEqualTo(first.range(all));
      }
      long from = first.compactRevision();
      assertThat(restored.events(from, Kv.bs("\0"), Kv.bs("\0"), true, Integer.MAX_VALUE))
          .isEqualTo(first.events(from, Kv.bs("\0"), Kv.bs("\0"), true, Integer.MAX_VALUE));
    });
  }

  // ---------------------------------------------------------------- generating and shrinking

  private static void forAllSequences(Consumer<List<Op>> property) {
    for (int i = 0; i < SEQUENCES; i++) {
      long seed = BASE_SEED + i;
      List<Op> ops = generate(new Random(seed));
      if (fails(property, ops)) {
        List<Op> shortest = shrink(property, ops);
        AssertionError failure = new AssertionError("seed " + seed + " fails; shortest failing "
            + "sequence (" + shortest.size() + " of " + ops.size() + " ops): " + shortest);
        try {
          property.accept(shortest);
        } catch (Throwable cause) {
          failure.initCause(cause);
        }
        throw failure;
      }
    }
  }

  private static List<Op> generate(Random random) {
    int count = random.nextInt(MAX_OPS + 1);
    List<Op> ops = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      int key = random.nextInt(KEYS.size());
      int end = random.nextInt(KEYS.size() + 2) - 1; // -1 .. KEYS.size()
      int kind = random.nextInt(12); // weights: put 6, delete 2, range 3, compact 1
      if (kind < 6) {
        ops.add(new Put(key, random.nextInt(10)));
      } else if (kind < 8) {
        ops.add(new Delete(key, end));
      } else if (kind < 11) {
        ops.add(new Range(key, end, random.nextInt(7), random.nextInt(4)));
      } else {
        ops.add(new Compact(random.nextInt(9)));
      }
    }
    return ops;
  }

  /** Drops operations one at a time for as long as the property still fails. */
  private static List<Op> shrink(Consumer<List<Op>> property, List<Op> failing) {
    List<Op> ops = failing;
    boolean shorter = true;
    while (shorter) {
      shorter = false;
      for (int i = 0; i < ops.size(); i++) {
        List<Op> candidate = new ArrayList<>(ops);
        candidate.remove(i);
        if (fails(property, candidate)) {
          ops = candidate;
          shorter = true;
          break;
        }
      }
    }
    return ops;
  }

  private static boolean fails(Consumer<List<Op>> property, List<Op> ops) {
    try {
      property.accept(ops);
      return false;
    } catch (AssertionError | RuntimeException e) {
      return true;
    }
  }

  // ---------------------------------------------------------------- driving store and model

  private static void apply(MvccStore store, Model model, Op op) {
    if (op instanceof Put put) {
      String key = KEYS.get(put.key());
      PutResponse response = store.put(PutRequest.newBuilder().setKey(bytes(key))
          .setValue(bytes("v" + put.value())).setPrevKv(true).build());
      ModelKv previous = model.put(key, "v" + put.value());
      assertThat(response.getHeader().getRevision()).isEqualTo(model.revision());
      assertThat(response.hasPrevKv() ? fromStore(response.getPrevKv()) : null)
          .isEqualTo(previous);
    } else if (op instanceof Delete delete) {
      DeleteRangeResponse response = store.deleteRange(DeleteRangeRequest.newBuilder()
          .setKey(bytes(KEYS.get(delete.key()))).setRangeEnd(rangeEnd(delete.end()))
          .setPrevKv(true).build());
      List<ModelKv> deleted = model.delete(KEYS.get(delete.key()), delete.end());
      assertThat(response.getHeader().getRevision()).isEqualTo(model.revision());
      assertThat(response.getDeleted()).isEqualTo(deleted.size());
      assertThat(response.getPrevKvsList().stream().map(MvccStoreModelTest::fromStore))
          .containsExactlyElementsOf(deleted);
    } else if (op instanceof Range range) {
      long revision = Math.max(0, model.revision() - range.revisionsBack());
      RangeRequest request = RangeRequest.newBuilder().setKey(bytes(KEYS.get(range.key())))
          .setRangeEnd(rangeEnd(range.end())).setRevision(revision).setLimit(range.limit())
          .build();
      if (revision != 0 && revision < model.compactRevision) {
        assertCompacted(() -> store.range(request));
        return;
      }
      NavigableMap<String, ModelKv> expected =
          model.select(KEYS.get(range.key()), range.end(),
              revision == 0 ? model.revision() : revision);
      RangeResponse response = store.range(request);
      List<ModelKv> all = new ArrayList<>(expected.values());
      List<ModelKv> shown =
          range.limit() == 0 ? all : all.subList(0, Math.min(range.limit(), all.size()));
      assertThat(response.getKvsList().stream().map(MvccStoreModelTest::fromStore))
          .containsExactlyElementsOf(shown);
      assertThat(response.getKvsList().stream().map(kv -> latin1(kv.getKey())))
          .containsExactlyElementsOf(
              expected.keySet().stream().limit(shown.size()).toList());
      assertThat(response.getCount()).isEqualTo(all.size());
      assertThat(response.getMore()).isEqualTo(shown.size() < all.size());
      assertThat(response.getHeader().getRevision()).isEqualTo(model.revision());
    } else if (op instanceof Compact compact) {
      long revision = Math.max(0, model.revision() - compact.revisionsBack());
      CompactionRequest request = CompactionRequest.newBuilder().setRevision(revision).build();
      if (revision <= model.compactRevision) {
        assertCompacted(() -> store.compact(request));
      } else {
        store.compact(request);
        model.compactRevision = revision;
      }
    }
  }

  /** Applies an op ignoring the model; returns the response or the error's status code. */
  private static Object applyQuietly(MvccStore store, Op op) {
    try {
      if (op instanceof Put put) {
        return store.put(PutRequest.newBuilder().setKey(bytes(KEYS.get(put.key())))
            .setValue(bytes("v" + put.value())).setPrevKv(true).build());
      } else if (op instanceof Delete delete) {
        return store.deleteRange(DeleteRangeRequest.newBuilder()
            .setKey(bytes(KEYS.get(delete.key()))).setRangeEnd(rangeEnd(delete.end()))
            .setPrevKv(true).build());
      } else if (op instanceof Range range) {
        return store.range(RangeRequest.newBuilder().setKey(bytes(KEYS.get(range.key())))
            .setRangeEnd(rangeEnd(range.end()))
            .setRevision(Math.max(0, store.revision() - range.revisionsBack()))
            .setLimit(range.limit()).build());
      } else {
        Compact compact = (Compact) op;
        return store.compact(CompactionRequest.newBuilder()
            .setRevision(Math.max(0, store.revision() - compact.revisionsBack())).build());
      }
    } catch (StatusRuntimeException e) {
      return e.getStatus().getCode();
    }
  }

  /** Every revision's events must be exactly the model's change from the revision before. */
  private static void checkEvents(MvccStore store, Model model) {
    long from = Math.max(2, model.compactRevision);
    List<Event> events = store.events(from, bytes("\0"), bytes("\0"), true, Integer.MAX_VALUE);
    List<String> expected = new ArrayList<>();
    for (long r = from; r <= model.revision(); r++) {
      NavigableMap<String, ModelKv> before = model.at(r - 1);
      NavigableMap<String, ModelKv> after = model.at(r);
      TreeSet<String> keys = new TreeSet<>(before.keySet());
      keys.addAll(after.keySet());
      for (String key : keys) {
        ModelKv old = before.get(key);
        ModelKv now = after.get(key);
        if (Objects.equals(old, now)) {
          continue;
        }
        String prev = r - 1 >= model.compactRevision && old != null ? " prev " + old : "";
        expected.add(now == null
            ? "DELETE " + escape(key) + "@" + r + prev
            : "PUT " + escape(key) + " " + now + prev);
      }
    }
    List<String> actual = events.stream().map(e -> e.getType() == Event.EventType.DELETE
        ? "DELETE " + escape(latin1(e.getKv().getKey())) + "@" + e.getKv().getModRevision()
            + (e.hasPrevKv() ? " prev " + fromStore(e.getPrevKv()) : "")
        : "PUT " + escape(latin1(e.getKv().getKey())) + " " + fromStore(e.getKv())
            + (e.hasPrevKv() ? " prev " + fromStore(e.getPrevKv()) : "")).toList();
    assertThat(actual).containsExactlyElementsOf(expected);
  }

  // ---------------------------------------------------------------- the model

  /** A full copy of the live key-values at each revision, indexed by revision. */
  private static final class Model {
    final List<TreeMap<String, ModelKv>> byRevision = new ArrayList<>();
    long compactRevision;

    Model() {
      byRevision.add(new TreeMap<>()); // revision 0: unused
      byRevision.add(new TreeMap<>()); // revision 1: the empty store
    }

    long revision() {
      return byRevision.size() - 1;
    }

    TreeMap<String, ModelKv> at(long revision) {
      return byRevision.get((int) revision);
    }

    ModelKv put(String key, String value) {
      TreeMap<String, ModelKv> next = new TreeMap<>(at(revision()));
      long revision = revision() + 1;
      ModelKv previous = next.get(key);
      next.put(key, previous == null
          ? new ModelKv(value, revision, revision, 1)
          : new ModelKv(value, previous.create(), revision, previous.version() + 1));
      byRevision.add(next);
      return previous;
    }

    List<ModelKv> delete(String key, int end) {
      NavigableMap<String, ModelKv> doomed = select(key, end, revision());
      List<ModelKv> deleted = new ArrayList<>(doomed.values());
      if (!deleted.isEmpty()) {
        TreeMap<String, ModelKv> next = new TreeMap<>(at(revision()));
        next.keySet().removeAll(doomed.keySet());
        byRevision.add(next);
      }
      return deleted;
    }

    NavigableMap<String, ModelKv> select(String key, int end, long revision) {
      TreeMap<String, ModelKv> state = at(revision);
      TreeMap<String, ModelKv> result = new TreeMap<>();
      for (Map.Entry<String, ModelKv> entry : state.entrySet()) {
        String k = entry.getKey();
        boolean inside;
        if (end < 0) {
          inside = k.equals(key);
        } else if (end == KEYS.size()) {
          inside = k.compareTo(key) >= 0;
        } else {
          inside = k.compareTo(key) >= 0 && k.compareTo(KEYS.get(end)) < 0;
        }
        if (inside) {
          result.put(k, entry.getValue());
        }
      }
      return result;
    }
  }

  // ---------------------------------------------------------------- helpers

  private static ByteString rangeEnd(int end) {
    if (end < 0) {
      return ByteString.EMPTY;
    }
    return end == KEYS.size() ? ByteString.copyFrom(new byte[] {0}) : bytes(KEYS.get(end));
  }

  private static ByteString bytes(String latin1) {
    return ByteString.copyFrom(latin1, StandardCharsets.ISO_8859_1);
  }

  private static String latin1(ByteString bytes) {
    return bytes.toString(StandardCharsets.ISO_8859_1);
  }

  private static String escape(String key) {
    StringBuilder out = new StringBuilder();
    for (char c : key.toCharArray()) {
      out.append(c >= 0x20 && c < 0x7f ? String.valueOf(c) : String.format("\\x%02x", (int) c));
    }
    return out.toString();
  }

  private static ModelKv fromStore(KeyValue kv) {
    return new ModelKv(kv.getValue().toStringUtf8(), kv.getCreateRevision(),
        kv.getModRevision(), kv.getVersion());
  }

  private static void assertCompacted(Runnable call) {
    try {
      call.run();
    } catch (StatusRuntimeException e) {
      assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.OUT_OF_RANGE);
      assertThat(e.getStatus().getDescription()).contains("compacted");
      return;
    }
    throw new AssertionError("expected the revision to be compacted");
  }

  private static byte[] snapshot(MvccStore store) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      store.writeSnapshot(out);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  private static MvccStore read(byte[] bytes) {
    try {
      return MvccStore.readSnapshot(new ByteArrayInputStream(bytes));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
