package org.apsara.pangu.master.raft;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.apsara.pangu.master.namespace.NamespaceException;
import org.apsara.pangu.master.namespace.NamespaceReply;
import org.apsara.pangu.master.namespace.proto.NamespaceRecord;
import org.apsara.pangu.master.namespace.proto.RecordBatch;
import org.apsara.pangu.master.raft.MasterStateMachine.LeaderTerm;

/**
 * Turns the leader's commands into log entries, several records to an entry when commands
 * arrive faster than entries commit.
 *
 * <p>Why: every Raft entry costs the leader Ratis's server lock, a log write, a reply and an
 * apply; with many clients the request threads queued on that lock and the master spent more
 * time switching threads than working. Here request threads only queue their command; one
 * proposer thread builds the records (the proposer is single-threaded anyway, and records must
 * enter the log in the order they were stamped) and hands them to Ratis. While {@link
 * #ENTRIES_IN_FLIGHT_MAX} entries are being replicated, whatever arrives waits and leaves as the
 * next entry, a {@code RecordBatch}; a lone command on an idle leader leaves at once as a plain
 * record, so batching adds no latency to it.
 *
 * <p>A batch changes nothing about what each command means: the namespace applies its records
 * one after another, each judged on its own as if it had its own entry, and every command gets
 * its own reply or refusal. Only the outcome of a failed entry is shared by its records (not
 * the leader any more, no reply in time: each command fails with the same unavailability).
 *
 * <p>Thread-safe. {@link #submit} never blocks on replication; every returned future completes.
 */
final class CommandBatcher implements AutoCloseable {
  /**
   * Entries being replicated at a time; what arrives meanwhile gathers into the next one. As
   * many as a client's calls of one kind under way, so that a few callers' commands each leave
   * at once rather than wait for another's entry to commit.
   */
  static final int ENTRIES_IN_FLIGHT_MAX = 4;
  /** Records in one entry at most. */
  static final int RECORDS_PER_ENTRY_MAX = 256;
  /**
   * Serialized records in one entry at most, well below what Ratis sends to a follower in one
   * append (4 MiB by default), so an entry never has to travel alone.
   */
  static final int ENTRY_BYTES_MAX = 1 << 20;
  /** Commands waiting for the proposer at most; beyond it commands are shed as BUSY. */
  static final int QUEUED_COMMANDS_MAX = 10_000;

  /** What the batcher needs of its member. */
  interface Leader {
    /** The ready leader's term; throws {@link MasterUnavailableException} when not leading. */
    LeaderTerm readyLeaderTerm();

    /**
     * Appends {@code record} to the log and completes with its reply once committed and
     * applied here; fails with a {@link MasterUnavailableException} cause otherwise.
     */
    CompletableFuture<NamespaceReply> replicate(NamespaceRecord record);

    /** Counts a command the proposer refused. */
    void refused();

    String memberId();
  }

  private record Queued(MasterCommand command, CompletableFuture<NamespaceReply> reply) {}

  private record Proposed(NamespaceRecord record, CompletableFuture<NamespaceReply> reply) {}

  private final Leader leader;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition wake = lock.newCondition();
  private final ArrayDeque<Queued> queue = new ArrayDeque<>();
  private final Thread proposer;
  private int inFlight;
  private boolean closed;

  CommandBatcher(Leader leader) {
    this.leader = leader;
    this.proposer = new Thread(this::run, "pangu-master-" + leader.memberId() + "-proposer");
    proposer.setDaemon(true);
    proposer.start();
  }

  /**
   * Queues {@code command}; completes with its reply, or fails with the proposer's or the
   * apply's {@link NamespaceException}, or a {@link MasterUnavailableException} (as the cause of
   * a {@link CompletionException}).
   */
  CompletableFuture<NamespaceReply> submit(MasterCommand command) {
    CompletableFuture<NamespaceReply> reply = new CompletableFuture<>();
    lock.lock();
    try {
      if (closed) {
        return CompletableFuture.failedFuture(stopped());
      }
      if (queue.size() >= QUEUED_COMMANDS_MAX) {
        return CompletableFuture.failedFuture(new MasterUnavailableException(
            MasterUnavailableException.Reason.BUSY, null, "member " + leader.memberId()
                + " has " + QUEUED_COMMANDS_MAX + " commands queued; try again later"));
      }
      queue.add(new Queued(command, reply));
      if (inFlight < ENTRIES_IN_FLIGHT_MAX) {
        wake.signal();
      }
    } finally {
      lock.unlock();
    }
    return reply;
  }

  /** Stops the proposer thread; queued commands fail as STOPPED. */
  @Override
  public void close() {
    lock.lock();
    try {
      closed = true;
      wake.signal();
    } finally {
      lock.unlock();
    }
    try {
      proposer.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void run() {
    while (true) {
      List<Queued> taken = new ArrayList<>();
      lock.lock();
      try {
        while (!closed && (queue.isEmpty() || inFlight >= ENTRIES_IN_FLIGHT_MAX)) {
          wake.awaitUninterruptibly();
        }
        if (closed) {
          taken.addAll(queue);
          queue.clear();
        } else {
          while (!queue.isEmpty() && taken.size() < RECORDS_PER_ENTRY_MAX) {
            taken.add(queue.poll());
          }
        }
      } finally {
        lock.unlock();
      }
      if (closed) {
        taken.forEach(q -> q.reply().completeExceptionally(stopped()));
        return;
      }
      propose(taken);
    }
  }

  /** Builds the records of {@code taken} and sends them, in order, as one or more entries. */
  private void propose(List<Queued> taken) {
    LeaderTerm term;
    try {
      term = leader.readyLeaderTerm();
    } catch (MasterUnavailableException e) {
      taken.forEach(q -> q.reply().completeExceptionally(e));
      return;
    }
    List<Proposed> proposed = new ArrayList<>(taken.size());
    List<Runnable> refusals = new ArrayList<>();
    for (Queued q : taken) {
      try {
        proposed.add(new Proposed(q.command().propose(term.proposer()), q.reply()));
      } catch (NamespaceException e) {
        leader.refused();
        refusals.add(() -> q.reply().completeExceptionally(e));
      } catch (IllegalStateException e) {
        // The namespace was closed under the proposer: this member is stopping.
        refusals.add(() -> q.reply().completeExceptionally(new MasterUnavailableException(
            MasterUnavailableException.Reason.STOPPED, null,
            "member " + leader.memberId() + " is stopping: " + e.getMessage(), e)));
      }
    }
    int from = 0;
    while (from < proposed.size()) {
      int to = from;
      long bytes = 0;
      while (to < proposed.size() && to - from < RECORDS_PER_ENTRY_MAX) {
        int size = proposed.get(to).record().getSerializedSize();
        if (to > from && bytes + size > ENTRY_BYTES_MAX) {
          break;
        }
        bytes += size;
        to++;
      }
      send(proposed.subList(from, to));
      from = to;
    }
    // Completed only now, so that no caller's continuation runs between two of our entries.
    refusals.forEach(Runnable::run);
  }

  private void send(List<Proposed> entry) {
    lock.lock();
    try {
      inFlight++;
    } finally {
      lock.unlock();
    }
    NamespaceRecord record;
    if (entry.size() == 1) {
      record = entry.get(0).record();
    } else {
      RecordBatch.Builder batch = RecordBatch.newBuilder();
      entry.forEach(p -> batch.addRecords(p.record()));
      record = NamespaceRecord.newBuilder()
          .setTimeMs(entry.get(entry.size() - 1).record().getTimeMs())
          .setBatch(batch)
          .build();
    }
    List<Proposed> sent = List.copyOf(entry);
    leader.replicate(record).whenComplete((reply, failure) -> {
      lock.lock();
      try {
        inFlight--;
        if (!queue.isEmpty()) {
          wake.signal();
        }
      } finally {
        lock.unlock();
      }
      if (failure != null) {
        sent.forEach(p -> p.reply().completeExceptionally(failure));
      } else if (sent.size() == 1) {
        complete(sent.get(0).reply(), reply);
      } else if (reply instanceof NamespaceReply.Batch batch
          && batch.replies().size() == sent.size()) {
        for (int i = 0; i < sent.size(); i++) {
          complete(sent.get(i).reply(), batch.replies().get(i));
        }
      } else {
        IllegalStateException wrong = new IllegalStateException(
            "the state machine answered a batch of " + sent.size() + " records with " + reply);
        sent.forEach(p -> p.reply().completeExceptionally(wrong));
      }
    });
  }

  private static void complete(CompletableFuture<NamespaceReply> target, NamespaceReply reply) {
    if (reply instanceof NamespaceReply.Failed failed) {
      target.completeExceptionally(failed.error());
    } else {
      target.complete(reply);
    }
  }

  private MasterUnavailableException stopped() {
    return new MasterUnavailableException(MasterUnavailableException.Reason.STOPPED, null,
        "member " + leader.memberId() + " is stopping");
  }
}
