package org.apsara.raft;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.util.LifeCycle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Notices when a member's Raft server fails in a way Ratis does not recover from, so that the
 * member stops instead of lingering.
 *
 * <p>In Ratis 3.2.2, a log write that fails (a full or failing disk) closes the member's log and
 * nothing else: the member keeps its place in the group and its ports, but cannot append again.
 * A leader loses its leadership, a follower fails every append the leader sends (each logged
 * with a stack trace), and linearizable reads it serves wait for an index it never reaches,
 * while it still looks alive. An apply that fails closes the member's Raft server, and the
 * process lives on without it. Either way, the one useful thing left is to stop: clients move to
 * the other members at once, and a supervisor that restarts the member sees it exit, as etcd
 * exits when its write-ahead log fails.
 */
public final class RaftWatchdog implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(RaftWatchdog.class);
  /** How often the server is checked; a failure is acted on within this. */
  static final Duration INTERVAL = Duration.ofSeconds(1);

  private final RaftServer server;
  private final RaftGroupId group;
  private final Path dataDir;
  private final CompletableFuture<String> failed = new CompletableFuture<>();
  private final ScheduledExecutorService timer;

  /**
   * A watchdog for a server, idle until {@link #start}. Close it before stopping the server: a
   * server stopped on purpose is no failure.
   *
   * @param name names the watchdog's thread
   * @param dataDir the member's data directory, whose free space a failure reports
   */
  public RaftWatchdog(String name, RaftServer server, RaftGroupId group, Path dataDir) {
    this.server = server;
    this.group = group;
    this.dataDir = dataDir;
    this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread thread = new Thread(r, name + "-raft-watchdog");
      thread.setDaemon(true);
      return thread;
    });
  }

  /** Starts watching; call once the server has started. */
  public void start() {
    long intervalMs = INTERVAL.toMillis();
    timer.scheduleWithFixedDelay(this::check, intervalMs, intervalMs, TimeUnit.MILLISECONDS);
  }

  /** Completes, once, with what failed; never completes while the server works. */
  public CompletableFuture<String> failed() {
    return failed;
  }

  private void check() {
    Optional<String> failure = failure(server, group);
    if (failure.isEmpty()) {
      return;
    }
    String reason = failure.get() + freeSpace();
    LOG.atError().addKeyValue("reason", reason).log("this member's Raft server failed");
    timer.shutdown();
    failed.complete(reason);
  }

  /** What is wrong with the group's server, if anything is. */
  static Optional<String> failure(RaftServer server, RaftGroupId group) {
    RaftServer.Division division;
    try {
      division = server.getDivision(group);
    } catch (IOException e) {
      return Optional.of("the Raft server no longer runs the group: " + e.getMessage());
    }
    LifeCycle.State state = division.getInfo().getLifeCycleState();
    if (state.isClosingOrClosed() || state == LifeCycle.State.EXCEPTION) {
      return Optional.of("the Raft server stopped by itself (" + state + "); the log before "
          + "this says why, such as an entry its state machine failed to apply");
    }
    if (state == LifeCycle.State.RUNNING && !division.getRaftLog().isOpened()) {
      return Optional.of("the Raft log failed to write and was closed; the log before this says"
          + " why, such as a full or failing disk");
    }
    return Optional.empty();
  }

  private String freeSpace() {
    try {
      long free = Files.getFileStore(dataDir).getUsableSpace();
      return " (" + (free >> 20) + " MiB free for " + dataDir + ")";
    } catch (IOException e) {
      return " (the free space for " + dataDir + " is unknown: " + e.getMessage() + ")";
    }
  }

  /**
   * Stops a service whose Raft server failed: logs why, closes the service on a thread of its
   * own (the failure is reported on the watchdog's thread, which closing the service stops),
   * then completes {@code stopped} with the reason.
   *
   * @param service names the service in the log, such as "nuwa member n1"
   */
  public static void stopService(String service, String reason, AutoCloseable closeable,
      CompletableFuture<String> stopped) {
    LOG.atError().addKeyValue("reason", reason)
        .log(service + " stopping: its Raft server failed");
    Thread stopping = new Thread(() -> {
      try {
        closeable.close();
      } catch (Exception e) {
        LOG.atWarn().setCause(e).log("stopping " + service + " failed");
      }
      stopped.complete(reason);
    }, service.replace(' ', '-') + "-stop");
    stopping.start();
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
