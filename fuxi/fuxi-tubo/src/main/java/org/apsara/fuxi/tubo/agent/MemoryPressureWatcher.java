package org.apsara.fuxi.tubo.agent;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.apsara.fuxi.tubo.WorkerSupervisor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps memory for services: every {@link AgentLimits#MEMORY_CHECK_INTERVAL} it reads how much
 * memory the machine has available, and when that is below the configured floor it evicts batch
 * workers ({@link WorkerSupervisor#evictBatchUntilFree}: youngest first, never a service) until
 * the workers evicted held the shortfall. An evicted worker's exit reaches its application master,
 * which runs the work again elsewhere.
 *
 * <p>Cgroup limits keep each worker within its grant; this protects the machine as a whole,
 * where memory is also used outside the workers (page cache of services, the system, work Tubo
 * does not run) and where the sum of grants may exceed what is free at a given moment.
 *
 * <p>Threading: one scheduled thread runs the checks ({@link #start}); {@link #checkOnce} may be
 * called by tests instead. {@link #close} stops the thread.
 */
final class MemoryPressureWatcher implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(MemoryPressureWatcher.class);

  private final WorkerSupervisor supervisor;
  private final long floorMib;
  private final LongSupplier availableMib;
  private ScheduledExecutorService thread;

  /**
   * @param floorMib the available memory to keep, in MiB; above 0
   * @param availableMib reads the machine's available memory now, in MiB
   */
  MemoryPressureWatcher(WorkerSupervisor supervisor, long floorMib, LongSupplier availableMib) {
    if (floorMib <= 0) {
      throw new IllegalArgumentException("the memory floor must be positive: " + floorMib);
    }
    this.supervisor = Objects.requireNonNull(supervisor, "supervisor");
    this.floorMib = floorMib;
    this.availableMib = Objects.requireNonNull(availableMib, "availableMib");
  }

  /** The machine's {@code MemAvailable}, read from a meminfo file, in MiB. */
  static LongSupplier fromMeminfo(Path meminfo) {
    return () -> {
      try {
        return memAvailableMib(Files.readString(meminfo));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    };
  }

  /** Parses the {@code MemAvailable:} line of meminfo ({@code kB}) into MiB. */
  static long memAvailableMib(String meminfo) {
    for (String line : meminfo.split("\n")) {
      if (line.startsWith("MemAvailable:")) {
        String[] parts = line.substring("MemAvailable:".length()).trim().split("\\s+");
        return Long.parseLong(parts[0]) / 1024;
      }
    }
    throw new IllegalArgumentException("meminfo has no MemAvailable line (kernel before 3.14?)");
  }

  synchronized void start(Duration interval) {
    if (thread != null) {
      throw new IllegalStateException("already started");
    }
    thread = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "tubo-memory");
      t.setDaemon(true);
      return t;
    });
    long millis = interval.toMillis();
    thread.scheduleWithFixedDelay(this::checkQuietly, millis, millis, TimeUnit.MILLISECONDS);
  }

  private void checkQuietly() {
    try {
      checkOnce();
    } catch (RuntimeException e) {
      // A bad read must not end the watching for good.
      LOG.warn("checking the machine's memory failed", e);
    }
  }

  /** One check: evicts batch workers if memory is short; returns the ids evicted. */
  List<String> checkOnce() {
    long available = availableMib.getAsLong();
    if (available >= floorMib) {
      return List.of();
    }
    long shortfall = floorMib - available;
    List<String> evicted = supervisor.evictBatchUntilFree(shortfall);
    LOG.atWarn().addKeyValue("availableMib", available).addKeyValue("floorMib", floorMib)
        .addKeyValue("evicted", evicted)
        .log(evicted.isEmpty() ? "memory is short and no batch worker is left to evict"
            : "memory is short: evicted batch workers");
    return evicted;
  }

  @Override
  public synchronized void close() {
    if (thread != null) {
      thread.shutdownNow();
    }
  }
}
