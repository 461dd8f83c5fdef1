package org.apsara.bench.nuwa;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.apsara.common.time.MonotonicClock;
import org.junit.jupiter.api.Test;

class ClosedLoopWorkloadTest {
  private static final Duration WARMUP = Duration.ofMillis(100);
  private static final Duration WINDOW = Duration.ofMillis(400);
  private static final long SERVICE_NANOS = TimeUnit.MICROSECONDS.toNanos(200);

  private final KeySpace keys = new KeySpace(50, 256, 7);
  private final ClosedLoopWorkload workload =
      new ClosedLoopWorkload(MonotonicClock.SYSTEM, Duration.ofMillis(200), Duration.ofMillis(200));

  /** An in-process store whose every call takes at least {@link #SERVICE_NANOS}. */
  private static class FakeStore implements KvConnection {
    final ConcurrentHashMap<Integer, byte[]> data = new ConcurrentHashMap<>();
    final AtomicLong calls = new AtomicLong();
    final KeySpace keys;

    FakeStore(KeySpace keys) {
      this.keys = keys;
    }

    void serve() {
      calls.incrementAndGet();
      long until = System.nanoTime() + SERVICE_NANOS;
      while (System.nanoTime() - until < 0) {
        LockSupport.parkNanos(until - System.nanoTime());
      }
    }

    @Override
    public void create(int key) {
      data.put(key, keys.value());
    }

    @Override
    public void put(int key) throws InterruptedException {
      serve();
      data.put(key, keys.value());
    }

    @Override
    public void get(int key) {
      serve();
      byte[] value = data.get(key);
      if (value == null || !keys.isValue(value)) {
        throw new IllegalStateException("key " + key + " missing or wrong");
      }
    }

    @Override
    public void close() {}
  }

  /** A step of the test's warm-up and window, seed 1, without CPU readings. */
  private StepResult step(Operation operation, int clients, List<KvConnection> connections)
      throws InterruptedException {
    return workload.run(operation, clients, connections, keys.count(), WARMUP, WINDOW, 1,
        CpuMeter.NONE);
  }

  @Test
  void measuresThroughputAndLatencyOfAClosedLoop() throws Exception {
    FakeStore store = new FakeStore(keys);
    ClosedLoopWorkload.prepare(List.of(store), keys, Duration.ofSeconds(10));
    assertThat(store.data).hasSize(keys.count());

    StepResult result = step(Operation.GET, 4, List.of(store));

    assertThat(result.operations()).isPositive();
    assertThat(result.errors()).isZero();
    assertThat(result.stuckClients()).isZero();
    assertThat(result.p50Nanos()).isLessThanOrEqualTo(result.p99Nanos());
    assertThat(result.p99Nanos()).isLessThanOrEqualTo(result.maxNanos());
    // Every call takes at least the service time, so no recorded latency is below it (the
    // histogram rounds down by less than 0.1%), ...
    assertThat(result.p50Nanos()).isGreaterThanOrEqualTo(SERVICE_NANOS * 999 / 1000);
    // ... and 4 clients cannot complete more than 4 calls per service time in the window; nor
    // more than the calls the store saw in total, warm-up included.
    long ceiling = 4 * WINDOW.toNanos() / SERVICE_NANOS;
    assertThat(result.operations()).isLessThanOrEqualTo(ceiling);
    assertThat(result.operations()).isLessThan(store.calls.get());
    assertThat(result.operationsPerSecond())
        .isEqualTo(result.operations() / (WINDOW.toNanos() / 1e9));
  }

  @Test
  void spreadsClientsOverConnections() throws Exception {
    FakeStore first = new FakeStore(keys);
    FakeStore second = new FakeStore(keys);

    StepResult result = step(Operation.PUT, 2, List.of(first, second));

    assertThat(result.operations()).isPositive();
    assertThat(first.calls.get()).isPositive();
    assertThat(second.calls.get()).isPositive();
  }

  @Test
  void readsTheCpuMeterWhenTheMeasuredWindowBeginsAndEnds() throws Exception {
    FakeStore store = new FakeStore(keys);
    List<Long> readAt = new CopyOnWriteArrayList<>();
    // Each reading adds 3 s of members' CPU and 1 s of the clients', 2 s of it the compilers'.
    CpuMeter meter = () -> {
      readAt.add(System.nanoTime());
      long n = readAt.size();
      return Optional.of(new CpuMeter.CpuTimes(Duration.ofSeconds(3 * n), Duration.ofSeconds(n),
          Duration.ofSeconds(2 * n)));
    };
    long start = System.nanoTime();

    StepResult result =
        workload.run(Operation.PUT, 2, List.of(store), keys.count(), WARMUP, WINDOW, 1, meter);

    assertThat(readAt).hasSize(2);
    // Neither reading comes before its edge of the window; either may come a little after it,
    // as a parked thread wakes late.
    assertThat(readAt.get(0) - start).isGreaterThanOrEqualTo(WARMUP.toNanos());
    assertThat(readAt.get(1) - start).isGreaterThanOrEqualTo(WARMUP.plus(WINDOW).toNanos());
    assertThat(result.cpu()).hasValue(new CpuMeter.CpuTimes(
        Duration.ofSeconds(3), Duration.ofSeconds(1), Duration.ofSeconds(2)));
    assertThat(result.cpuPerOperation()).hasValue(new CpuMeter.CpuTimes(
        Duration.ofSeconds(3).dividedBy(result.operations()),
        Duration.ofSeconds(1).dividedBy(result.operations()),
        Duration.ofSeconds(2).dividedBy(result.operations())));
    assertThat(result.cpu().orElseThrow().compilerShare()).isEqualTo(0.5);
  }

  @Test
  void reportsNoCpuWhereTheMeterHasNone() throws Exception {
    StepResult result = step(Operation.PUT, 1, List.of(new FakeStore(keys)));

    assertThat(result.operations()).isPositive();
    assertThat(result.cpuPerOperation()).isEmpty();
  }

  @Test
  void countsFailedCallsAsErrorsNotOperations() throws Exception {
    FakeStore store = new FakeStore(keys);
    // No key was prepared, so every get fails.
    StepResult result = step(Operation.GET, 2, List.of(store));

    assertThat(result.operations()).isZero();
    assertThat(result.errors()).isPositive();
    assertThat(result.firstError()).hasValueSatisfying(e -> assertThat(e).contains("missing"));
    assertThat(result.p50Nanos()).isZero();
  }

  @Test
  void endsAStepWhoseCallNeverReturnsAndReportsTheClientAsStuck() throws Exception {
    CountDownLatch never = new CountDownLatch(1);
    KvConnection hanging =
        new FakeStore(keys) {
          @Override
          public void put(int key) throws InterruptedException {
            never.await();
          }
        };
    long start = System.nanoTime();

    StepResult result = step(Operation.PUT, 3, List.of(hanging));

    Duration took = Duration.ofNanos(System.nanoTime() - start);
    assertThat(result.stuckClients()).isEqualTo(3);
    assertThat(result.operations()).isZero();
    // Warm-up + window + operation timeout + grace, with room for a slow machine.
    assertThat(took).isLessThan(Duration.ofSeconds(5));
  }

  @Test
  void usesOneConnectionPerSixteenClients() {
    assertThat(ClosedLoopWorkload.connectionsFor(1)).isEqualTo(1);
    assertThat(ClosedLoopWorkload.connectionsFor(16)).isEqualTo(1);
    assertThat(ClosedLoopWorkload.connectionsFor(17)).isEqualTo(2);
    assertThat(ClosedLoopWorkload.connectionsFor(128)).isEqualTo(8);
  }

  @Test
  void rejectsConcurrencyOutsideItsLimits() {
    FakeStore store = new FakeStore(keys);
    assertThatThrownBy(() -> step(Operation.PUT, 0, List.of(store)))
        .isInstanceOf(IllegalArgumentException.class);
    int tooMany = ClosedLoopWorkload.CLIENTS_MAX + 1;
    assertThatThrownBy(() -> step(Operation.PUT, tooMany, List.of(store)))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
