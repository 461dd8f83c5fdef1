package org.apsara.testkit.history;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Random;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import org.apsara.testkit.history.LinearizabilityResult.Verdict;
import org.junit.jupiter.api.Test;

/**
 * Records histories from registers under real concurrency and checks them: a correct register must
 * always pass, and a register with a planted stale-read bug must be caught. Seeds are printed in
 * assertion messages so that a failing run can be replayed (thread timing aside).
 */
class RegisterHistoryRandomizedTest {
  private static final int THREADS = 4;
  private static final int OPERATIONS_PER_THREAD = 250;
  /** Upper bound of the random pause around each operation, to make operations overlap. */
  private static final long JITTER_NANOS_MAX = 30_000;

  private final LinearizabilityChecker<CasRegisterModel.State<Long>, RegisterOp<Long>,
      RegisterResult<Long>> checker = new LinearizabilityChecker<>(new CasRegisterModel<>());

  /** The system under test: one register per key. */
  private interface Register {
    Long read(String key);

    void write(String key, Long value);

    boolean cas(String key, Long expected, Long newValue);
  }

  /** Linearizable: every operation is atomic on the current value. */
  private static final class AtomicRegister implements Register {
    private final java.util.Map<String, AtomicReference<Long>> values =
        new java.util.concurrent.ConcurrentHashMap<>();

    private AtomicReference<Long> cell(String key) {
      return values.computeIfAbsent(key, k -> new AtomicReference<>());
    }

    @Override
    public Long read(String key) {
      return cell(key).get();
    }

    @Override
    public void write(String key, Long value) {
      cell(key).set(value);
    }

    @Override
    public boolean cas(String key, Long expected, Long newValue) {
      AtomicReference<Long> cell = cell(key);
      // AtomicReference compares identities; compare values as the model does.
      while (true) {
        Long current = cell.get();
        if (!Objects.equals(current, expected)) {
          return false;
        }
        if (cell.compareAndSet(current, newValue)) {
          return true;
        }
      }
    }
  }

  /**
   * The planted bug: writes and compare-and-sets are atomic, but some reads are served from a copy
   * that lags two versions behind, like a follower serving reads without checking it is current.
   */
  private static final class StaleReadRegister implements Register {
    private final List<Long> versions = new ArrayList<>();
    private final Random random;

    StaleReadRegister(long seed) {
      this.random = new Random(seed);
      versions.add(null);
    }

    @Override
    public synchronized Long read(String key) {
      int latest = versions.size() - 1;
      if (latest >= 2 && random.nextInt(3) == 0) {
        return versions.get(latest - 2);
      }
      return versions.get(latest);
    }

    @Override
    public synchronized void write(String key, Long value) {
      versions.add(value);
    }

    @Override
    public synchronized boolean cas(String key, Long expected, Long newValue) {
      if (!Objects.equals(versions.get(versions.size() - 1), expected)) {
        return false;
      }
      versions.add(newValue);
      return true;
    }
  }

  @Test
  void historiesOfALinearizableRegisterPass() throws Exception {
    long baseSeed = System.nanoTime();
    for (int round = 0; round < 3; round++) {
      long seed = baseSeed + round;
      History<RegisterOp<Long>, RegisterResult<Long>> history =
          record(new AtomicRegister(), seed, List.of(RegisterOp.DEFAULT_KEY), true);

      LinearizabilityResult<?, ?> result = checker.check(history);

      assertThat(result.verdict())
          .as("seed %d: %s", seed, result.explain()).isEqualTo(Verdict.LINEARIZABLE);
    }
  }

  @Test
  void multiKeyHistoriesOfALinearizableRegisterPassPerKey() throws Exception {
    long seed = System.nanoTime();
    History<RegisterOp<Long>, RegisterResult<Long>> history =
        record(new AtomicRegister(), seed, List.of("a", "b", "c"), true);

    LinearizabilityResult<?, ?> result = checker.checkPartitioned(history, RegisterOp::key);

    assertThat(result.verdict())
        .as("seed %d: %s", seed, result.explain()).isEqualTo(Verdict.LINEARIZABLE);
    assertThat(result.partitions()).isEqualTo(3);
  }

  @Test
  void historiesOfAStaleReadingRegisterAreCaught() throws Exception {
    long seed = System.nanoTime();
    History<RegisterOp<Long>, RegisterResult<Long>> history =
        record(new StaleReadRegister(seed), seed, List.of(RegisterOp.DEFAULT_KEY), false);

    LinearizabilityResult<RegisterOp<Long>, RegisterResult<Long>> result = checker.check(history);

    assertThat(result.verdict())
        .as("seed %d: %s", seed, result.explain()).isEqualTo(Verdict.NOT_LINEARIZABLE);
    assertThat(result.blockingOperation()).isPresent();
    assertThat(result.explain()).contains("no valid order places");
  }

  /**
   * Runs {@value #THREADS} client threads against {@code register}, each doing random reads,
   * writes of unique values and compare-and-sets. With {@code withUncertainty}, some operations
   * are recorded as unknown (whether or not they were performed) or as failed (not performed).
   */
  private static History<RegisterOp<Long>, RegisterResult<Long>> record(
      Register register, long seed, List<String> keys, boolean withUncertainty) throws Exception {
    History<RegisterOp<Long>, RegisterResult<Long>> history = new History<>();
    CyclicBarrier start = new CyclicBarrier(THREADS);
    ExecutorService pool = Executors.newFixedThreadPool(THREADS);
    try {
      List<Future<?>> clients = new ArrayList<>();
      for (int t = 0; t < THREADS; t++) {
        int thread = t;
        clients.add(pool.submit(() -> {
          start.await();
          runClient(register, history, new Random(seed * 31 + thread), thread, keys,
              withUncertainty);
          return null;
        }));
      }
      for (Future<?> client : clients) {
        client.get(30, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
    return history;
  }

  private static void runClient(Register register,
      History<RegisterOp<Long>, RegisterResult<Long>> history, Random random, int thread,
      List<String> keys, boolean withUncertainty) {
    // Unique values: each thread writes thread * 1_000_000 + n, so no value is written twice.
    long nextValue = thread * 1_000_000L;
    // A new process id after an unknown outcome, as a client that gave up on a request would.
    int process = thread;
    Long lastSeen = null;
    for (int i = 0; i < OPERATIONS_PER_THREAD; i++) {
      String key = keys.get(random.nextInt(keys.size()));
      int kind = random.nextInt(3);
      RegisterOp<Long> operation = switch (kind) {
        case 0 -> RegisterOp.read(key);
        case 1 -> RegisterOp.write(key, ++nextValue);
        default -> RegisterOp.cas(key, random.nextBoolean() ? lastSeen : null, ++nextValue);
      };
      int fate = withUncertainty ? random.nextInt(20) : 19;
      History.Op<RegisterOp<Long>, RegisterResult<Long>> op = history.invoke(process, operation);
      jitter(random);
      if (fate == 0) {
        op.fail(); // rejected before it reached the register
        continue;
      }
      if (fate == 1) {
        op.unknown(); // lost on the way: it never reached the register
        process += THREADS;
        continue;
      }
      RegisterResult<Long> result = perform(register, operation);
      jitter(random);
      if (fate == 2) {
        op.unknown(); // it did happen, but the reply was lost
        process += THREADS;
        continue;
      }
      op.ok(result);
      if (result instanceof RegisterResult.ReadValue<Long> read) {
        lastSeen = read.value();
      }
    }
  }

  private static RegisterResult<Long> perform(Register register, RegisterOp<Long> operation) {
    if (operation instanceof RegisterOp.Read<Long> read) {
      return RegisterResult.read(register.read(read.key()));
    }
    if (operation instanceof RegisterOp.Write<Long> write) {
      register.write(write.key(), write.value());
      return RegisterResult.ok();
    }
    RegisterOp.Cas<Long> cas = (RegisterOp.Cas<Long>) operation;
    return register.cas(cas.key(), cas.expected(), cas.newValue())
        ? RegisterResult.ok() : RegisterResult.casFailed();
  }

  private static void jitter(Random random) {
    LockSupport.parkNanos(random.nextLong(JITTER_NANOS_MAX));
  }
}
