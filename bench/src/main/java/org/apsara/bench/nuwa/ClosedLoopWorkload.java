package org.apsara.bench.nuwa;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;
import org.apsara.common.time.MonotonicClock;

/**
 * The benchmark's load generator: a closed loop of {@code clients} threads, each keeping exactly
 * one synchronous request in flight, so the offered load is the system's own pace at that
 * concurrency.
 *
 * <p>A step runs a warm-up, whose operations are not measured, then a measured window. Only
 * operations that both start and complete inside the window count, and their latencies go into an
 * HdrHistogram (1 microsecond resolution, 3 significant digits). Every step ends by itself: clients
 * stop starting calls at the end of the window, each call is bounded by the connection's operation
 * timeout, and a client still inside a call {@link #JOIN_GRACE} after that is interrupted and
 * counted as stuck.
 *
 * <p>One instance runs one step at a time; it holds no state between steps.
 */
final class ClosedLoopWorkload {
  /** Client threads sharing one connection (one gRPC channel or one ZooKeeper session). */
  static final int CLIENTS_PER_CONNECTION = 16;

  /** Most client threads of one step. */
  static final int CLIENTS_MAX = 1024;

  /** Extra wait, beyond the operation timeout, for clients to return after the window. */
  static final Duration JOIN_GRACE = Duration.ofSeconds(5);

  /** Highest latency the histograms resolve; longer calls are recorded as this. */
  static final long LATENCY_NANOS_MAX = TimeUnit.MINUTES.toNanos(2);

  /** Latency resolution: differences below a microsecond are noise at these latencies. */
  static final long LATENCY_NANOS_RESOLUTION = 1_000;

  /** Pause after a failed call, so that a dead server does not turn a client into a busy loop. */
  static final Duration ERROR_PAUSE = Duration.ofMillis(1);

  /** Longest error description kept for the report. */
  static final int ERROR_DESCRIPTION_CHARS_MAX = 200;

  /** Threads writing the keys before the first step. */
  static final int PREPARE_THREADS_MAX = 16;

  private final MonotonicClock clock;
  private final Duration operationTimeout;
  private final Duration joinGrace;

  /**
   * @param clock the time source of deadlines and latencies
   * @param operationTimeout the bound every {@link KvConnection} call honours
   */
  ClosedLoopWorkload(MonotonicClock clock, Duration operationTimeout) {
    this(clock, operationTimeout, JOIN_GRACE);
  }

  ClosedLoopWorkload(MonotonicClock clock, Duration operationTimeout, Duration joinGrace) {
    this.clock = clock;
    this.operationTimeout = operationTimeout;
    this.joinGrace = joinGrace;
  }

  /** Connections a step with {@code clients} client threads uses: one per 16 clients. */
  static int connectionsFor(int clients) {
    return (clients + CLIENTS_PER_CONNECTION - 1) / CLIENTS_PER_CONNECTION;
  }

  /**
   * Writes every key once through {@code connections}, so that gets find them and ZooKeeper's
   * znodes exist; not measured.
   *
   * @throws IllegalStateException if a write fails or all writes do not finish in {@code timeout}
   */
  static void prepare(List<KvConnection> connections, KeySpace keys, Duration timeout)
      throws InterruptedException {
    int threads = Math.min(PREPARE_THREADS_MAX, keys.count());
    List<CompletableFuture<Void>> writers = new ArrayList<>();
    List<Thread> started = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      int first = t;
      KvConnection connection = connections.get(t % connections.size());
      CompletableFuture<Void> done = new CompletableFuture<>();
      Thread thread =
          new Thread(
              () -> {
                try {
                  for (int key = first; key < keys.count(); key += threads) {
                    connection.create(key);
                  }
                  done.complete(null);
                } catch (Throwable e) {
                  done.completeExceptionally(e);
                }
              },
              "bench-prepare-" + t);
      thread.setDaemon(true);
      writers.add(done);
      started.add(thread);
      thread.start();
    }
    try {
      CompletableFuture.allOf(writers.toArray(CompletableFuture[]::new))
          .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      throw new IllegalStateException("writing the keys failed: " + describe(e), e.getCause());
    } catch (TimeoutException e) {
      throw new IllegalStateException(
          "writing " + keys.count() + " keys took longer than " + timeout.toSeconds() + " s", e);
    } finally {
      started.forEach(Thread::interrupt);
    }
  }

  /**
   * Runs one step and returns its measurements.
   *
   * @param connections the connections to share; client {@code i} uses connection {@code i mod
   *     connections.size()}
   * @param keyCount clients pick keys uniformly from {@code [0, keyCount)}
   * @param seed seeds the key choices, so that two runs choose the same keys
   * @param cpu read when the measured window begins and when it ends; {@link CpuMeter#NONE} for
   *     a step whose CPU is not reported
   */
  StepResult run(
      Operation operation,
      int clients,
      List<KvConnection> connections,
      int keyCount,
      Duration warmup,
      Duration window,
      long seed,
      CpuMeter cpu)
      throws InterruptedException {
    if (clients < 1 || clients > CLIENTS_MAX) {
      throw new IllegalArgumentException("clients " + clients + " not in [1, " + CLIENTS_MAX + "]");
    }
    if (connections.isEmpty()) {
      throw new IllegalArgumentException("no connections");
    }
    if (window.isNegative() || window.isZero() || warmup.isNegative()) {
      throw new IllegalArgumentException("warm-up " + warmup + " / window " + window);
    }
    SplittableRandom seeds = new SplittableRandom(seed);
    CountDownLatch go = new CountDownLatch(1);
    Schedule schedule = new Schedule();
    List<ClientLoop> clientList = new ArrayList<>(clients);
    for (int i = 0; i < clients; i++) {
      ClientLoop client =
          new ClientLoop(
              operation,
              connections.get(i % connections.size()),
              keyCount,
              seeds.split(),
              go,
              schedule);
      Thread thread = new Thread(client::runLoop, "bench-client-" + i);
      // A client stuck in a call that ignores interrupts must not keep the JVM alive.
      thread.setDaemon(true);
      client.thread = thread;
      clientList.add(client);
      thread.start();
    }
    long startNanos = clock.nanos();
    schedule.windowStartNanos = startNanos + warmup.toNanos();
    schedule.windowEndNanos = schedule.windowStartNanos + window.toNanos();
    // The latch publishes the schedule to the clients.
    go.countDown();
    // The clients run until the window ends in any case, so waiting for its edges costs nothing.
    parkUntil(schedule.windowStartNanos);
    Optional<CpuMeter.CpuTimes> atStart = cpu.read();
    parkUntil(schedule.windowEndNanos);
    Optional<CpuMeter.CpuTimes> cpuUsed =
        atStart.flatMap(start -> cpu.read().map(end -> end.since(start)));

    long joinDeadline =
        schedule.windowEndNanos + operationTimeout.toNanos() + joinGrace.toNanos();
    Histogram latencies = newHistogram();
    long operations = 0;
    long errors = 0;
    int stuck = 0;
    Optional<String> firstError = Optional.empty();
    for (ClientLoop client : clientList) {
      long waitNanos = Math.max(0, joinDeadline - clock.nanos());
      ClientTally tally;
      try {
        tally = client.result.get(waitNanos, TimeUnit.NANOSECONDS);
      } catch (TimeoutException e) {
        client.thread.interrupt();
        stuck++;
        continue;
      } catch (ExecutionException e) {
        throw new IllegalStateException("client loop failed: " + describe(e), e.getCause());
      }
      latencies.add(tally.latencies);
      operations += tally.operations;
      errors += tally.errors;
      if (firstError.isEmpty() && tally.firstError != null) {
        firstError = Optional.of(tally.firstError);
      }
    }
    boolean any = latencies.getTotalCount() > 0;
    return new StepResult(
        operation,
        clients,
        operations,
        errors,
        window,
        any ? latencies.getValueAtPercentile(50) : 0,
        any ? latencies.getValueAtPercentile(99) : 0,
        any ? latencies.getMaxValue() : 0,
        stuck,
        firstError,
        cpuUsed);
  }

  /** Waits for a moment of the schedule; a time, not a condition, so a timed park is right. */
  private void parkUntil(long nanos) throws InterruptedException {
    for (long left = nanos - clock.nanos(); left > 0; left = nanos - clock.nanos()) {
      LockSupport.parkNanos(left);
      if (Thread.interrupted()) {
        throw new InterruptedException("interrupted while waiting for the measured window");
      }
    }
  }

  static Histogram newHistogram() {
    return new Histogram(LATENCY_NANOS_RESOLUTION, LATENCY_NANOS_MAX, 3);
  }

  /** A short description of a failure: exception class and message, without wrappers. */
  static String describe(Throwable error) {
    Throwable cause = error;
    while ((cause instanceof ExecutionException || cause instanceof CompletionException)
        && cause.getCause() != null) {
      cause = cause.getCause();
    }
    String text =
        cause.getClass().getSimpleName()
            + (cause.getMessage() == null ? "" : ": " + cause.getMessage());
    text = text.replace('\n', ' ').replace('|', '/');
    return text.length() <= ERROR_DESCRIPTION_CHARS_MAX
        ? text
        : text.substring(0, ERROR_DESCRIPTION_CHARS_MAX) + "...";
  }

  /** When the measured window begins and ends; written before the start latch opens. */
  private static final class Schedule {
    long windowStartNanos;
    long windowEndNanos;
  }

  /** What one client thread counted; handed over once, through {@link ClientLoop#result}. */
  private static final class ClientTally {
    final Histogram latencies = newHistogram();
    long operations;
    long errors;
    String firstError;
  }

  /** One closed-loop client: one call in flight, the next started as soon as it returns. */
  private final class ClientLoop {
    final Operation operation;
    final KvConnection connection;
    final int keyCount;
    final SplittableRandom random;
    final CountDownLatch go;
    final Schedule schedule;
    final CompletableFuture<ClientTally> result = new CompletableFuture<>();
    Thread thread;

    ClientLoop(
        Operation operation,
        KvConnection connection,
        int keyCount,
        SplittableRandom random,
        CountDownLatch go,
        Schedule schedule) {
      this.operation = operation;
      this.connection = connection;
      this.keyCount = keyCount;
      this.random = random;
      this.go = go;
      this.schedule = schedule;
    }

    void runLoop() {
      ClientTally tally = new ClientTally();
      try {
        go.await();
        long windowStart = schedule.windowStartNanos;
        long windowEnd = schedule.windowEndNanos;
        while (!Thread.currentThread().isInterrupted()) {
          long start = clock.nanos();
          if (start - windowEnd >= 0) {
            break;
          }
          int key = random.nextInt(keyCount);
          try {
            operation.apply(connection, key);
            long end = clock.nanos();
            if (start - windowStart >= 0 && end - windowEnd <= 0) {
              tally.latencies.recordValue(Math.min(end - start, LATENCY_NANOS_MAX));
              tally.operations++;
            }
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          } catch (Exception e) {
            if (start - windowStart >= 0) {
              tally.errors++;
              if (tally.firstError == null) {
                tally.firstError = describe(e);
              }
            }
            LockSupport.parkNanos(ERROR_PAUSE.toNanos());
          }
        }
        result.complete(tally);
      } catch (InterruptedException e) {
        result.complete(tally);
      } catch (Throwable e) {
        result.completeExceptionally(e);
      }
    }
  }
}
