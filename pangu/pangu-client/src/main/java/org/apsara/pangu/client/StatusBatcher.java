package org.apsara.pangu.client;

import static org.apsara.pangu.api.v1.PanguMasterGrpc.getGetFileStatusMethod;
import static org.apsara.pangu.api.v1.PanguMasterGrpc.getGetFileStatusesMethod;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.apsara.pangu.api.v1.FileStatus;
import org.apsara.pangu.api.v1.FileStatusResult;
import org.apsara.pangu.api.v1.GetFileStatusRequest;
import org.apsara.pangu.api.v1.GetFileStatusesRequest;
import org.apsara.pangu.api.v1.GetFileStatusesResponse;
import org.apsara.pangu.client.MasterCaller.Retry;

/**
 * Sends the status calls of a client's threads, and gathers those made while others are under
 * way into one GetFileStatuses call.
 *
 * <p>Why: on a small machine most of a status call's cost, at both ends, is the call itself
 * rather than the namespace lookup: an HTTP/2 stream with its headers and trailers, and a write
 * and a read system call each way. Statuses asked for together share all of that.
 *
 * <p>How: at most {@link #CALLS_IN_FLIGHT_MAX} status calls of this client are under way at a
 * time, one per connection to the leader. A thread that finds one of them free sends its own
 * GetFileStatus at once, so a lone caller waits no longer than it would without this class. A
 * thread that finds none free queues its path and waits. When a call ends, the thread that sent
 * it takes the queued paths (up to {@link #PATHS_PER_CALL_MAX}) and makes the thread of the first
 * one their sender: it wakes, sends them in one call, hands every other thread its answer, and
 * passes its turn on in the same way. Every waiting thread is woken once, as it would be for its
 * own call; the sender twice.
 *
 * <p>Each path's answer is the one GetFileStatus would give: its status, or its own refusal
 * (missing, invalid, denied) as a {@link PanguException} naming that path. A failure of the whole
 * call (no leader within the deadline) fails every path in it.
 *
 * <p>Thread-safe.
 */
final class StatusBatcher {
  /** Status calls under way at a time: one per connection to the leader. */
  static final int CALLS_IN_FLIGHT_MAX = MasterCaller.CONNECTIONS_PER_MEMBER;

  /** Most paths in one call: the master's limit for GetFileStatuses. */
  static final int PATHS_PER_CALL_MAX = 256;

  private final MasterCaller master;
  private final Object lock = new Object();
  /** Paths waiting for a call, oldest first. Guarded by {@link #lock}. */
  private final ArrayDeque<Waiter> queue = new ArrayDeque<>();
  /** Guarded by {@link #lock}. */
  private int callsInFlight;

  StatusBatcher(MasterCaller master) {
    this.master = master;
  }

  /** The status of {@code path}, as {@link PanguClient#getStatus} documents it. */
  FileStatus getStatus(String path) throws IOException {
    Waiter waiter = null;
    synchronized (lock) {
      if (callsInFlight < CALLS_IN_FLIGHT_MAX) {
        callsInFlight++;
      } else {
        waiter = new Waiter(path);
        queue.add(waiter);
      }
    }
    if (waiter == null) {
      try {
        return single(path);
      } finally {
        passTurnOn();
      }
    }
    boolean interrupted = false;
    try {
      waiter.ready.get();
    } catch (InterruptedException e) {
      synchronized (lock) {
        if (queue.remove(waiter)) {
          Thread.currentThread().interrupt();
          throw new InterruptedIOException("getStatus " + path + " was interrupted");
        }
      }
      if (waiter.batch == null) {
        // Already on its way in another thread's call: nothing to take back, for a read.
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("getStatus " + path + " was interrupted");
      }
      // Chosen to send the others' paths too: they still need their answers.
      interrupted = true;
    } catch (ExecutionException e) {
      throw new AssertionError("never completed exceptionally", e);
    }
    if (waiter.batch != null) {
      // The others' answers must not be lost to this thread's interrupt: it is kept for later.
      interrupted |= Thread.interrupted();
      try {
        send(waiter.batch);
      } finally {
        passTurnOn();
        if (interrupted) {
          Thread.currentThread().interrupt();
        }
      }
    }
    return waiter.answer();
  }

  /** Paths waiting for a call; for tests. */
  int queued() {
    synchronized (lock) {
      return queue.size();
    }
  }

  private FileStatus single(String path) throws IOException {
    return master.call("getStatus", path, Retry.IDEMPOTENT, getGetFileStatusMethod(),
        GetFileStatusRequest.newBuilder().setPath(path).build()).getStatus();
  }

  /**
   * Ends a call of this client's: gives the turn to the first queued thread with the paths
   * queued so far, or frees the call's place if none are.
   */
  private void passTurnOn() {
    List<Waiter> next;
    synchronized (lock) {
      if (queue.isEmpty()) {
        callsInFlight--;
        return;
      }
      next = new ArrayList<>(Math.min(queue.size(), PATHS_PER_CALL_MAX));
      while (!queue.isEmpty() && next.size() < PATHS_PER_CALL_MAX) {
        next.add(queue.poll());
      }
      // Set under the lock: an interrupted waiter reads it there to learn whether it sends.
      next.get(0).batch = next;
    }
    next.get(0).ready.complete(null);
  }

  /** Sends the batch's paths in one call and answers each of their threads but this one. */
  private void send(List<Waiter> batch) {
    Waiter self = batch.get(0);
    if (batch.size() == 1) {
      try {
        self.status = single(self.path);
      } catch (IOException e) {
        self.failure = e;
      }
      return;
    }
    GetFileStatusesRequest.Builder request = GetFileStatusesRequest.newBuilder();
    batch.forEach(w -> request.addPaths(w.path));
    try {
      GetFileStatusesResponse response = master.call("getStatus of " + batch.size()
          + " paths, the first", self.path, Retry.IDEMPOTENT, getGetFileStatusesMethod(),
          request.build());
      if (response.getResultsCount() != batch.size()) {
        throw new PanguException(PanguErrorCode.UNCLASSIFIED, self.path, "the master answered "
            + response.getResultsCount() + " statuses for " + batch.size() + " paths");
      }
      for (int i = 0; i < batch.size(); i++) {
        batch.get(i).take(response.getResults(i));
      }
    } catch (PanguException e) {
      for (Waiter w : batch) {
        w.failure = e;
      }
    } catch (IOException e) {
      // Interrupted while sending, though the interrupt was put aside: no answers came.
      for (Waiter w : batch) {
        w.failure = new IOException("getStatus " + w.path
            + ": the thread sending it with other paths was interrupted", e);
      }
    } finally {
      for (int i = 1; i < batch.size(); i++) {
        batch.get(i).ready.complete(null);
      }
    }
  }

  /** A queued path and, once its call ended, its answer. */
  private static final class Waiter {
    final String path;
    /**
     * Completes when the answer is in, or when this waiter's thread is to send {@link #batch};
     * what was written before it completes is visible after.
     */
    final CompletableFuture<Void> ready = new CompletableFuture<>();
    /** The paths this waiter's thread is to send, itself first; null if another sends it. */
    List<Waiter> batch;
    FileStatus status;
    IOException failure;

    Waiter(String path) {
      this.path = path;
    }

    void take(FileStatusResult result) {
      if (result.hasStatus()) {
        status = result.getStatus();
        return;
      }
      PanguErrorCode code = PanguErrorCode.parse(result.getError().getCode());
      failure = new PanguException(code != null ? code : PanguErrorCode.UNCLASSIFIED, path,
          result.getError().getMessage());
    }

    FileStatus answer() throws IOException {
      if (failure != null) {
        // Thrown in the waiting thread, with its own stack: the original is the cause.
        if (failure instanceof PanguException e) {
          throw new PanguException(e.code(), path, e.getMessage(), e);
        }
        throw new IOException(failure.getMessage(), failure);
      }
      return status;
    }
  }
}
