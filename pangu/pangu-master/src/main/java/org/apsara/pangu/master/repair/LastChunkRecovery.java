package org.apsara.pangu.master.repair;

import io.grpc.StatusRuntimeException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.apsara.pangu.api.v1.GetReplicaResponse;
import org.apsara.pangu.api.v1.ReplicaState;
import org.apsara.pangu.master.chunks.ChunkManager;
import org.apsara.pangu.master.chunks.ChunkServerCalls;
import org.apsara.pangu.master.chunks.ChunkServerView;
import org.apsara.pangu.master.namespace.ChunkInfo;
import org.apsara.pangu.master.namespace.FileStatus;
import org.apsara.pangu.master.namespace.Namespace;
import org.apsara.pangu.master.namespace.NamespaceException;
import org.apsara.pangu.master.namespace.NamespaceReply;
import org.apsara.pangu.master.raft.LeaseRecovery;
import org.apsara.pangu.master.raft.MasterCommand;
import org.apsara.pangu.master.raft.MasterNode;
import org.apsara.pangu.master.raft.MasterUnavailableException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Lease recovery that never loses a byte a writer was told is durable.
 *
 * <p>A writer acknowledges a byte only once every replica of the chunk synced it, so the
 * largest synced length among the replicas that answer covers every acknowledged byte. For a
 * file whose last chunk is uncommitted, the leader therefore
 * <ol>
 *   <li>asks every chunkserver that may hold the chunk (reported it, or was chosen for it) for
 *       its replica (GetReplica);</li>
 *   <li>takes the largest synced length L among the readable, not corrupt replicas with at
 *       least the chunk's generation;</li>
 *   <li>seals every such replica with at least L bytes at L (cutting an unacknowledged tail,
 *       and stopping a writer that is still alive) and raises its generation past every
 *       generation seen, so replicas that missed the recovery are recognisably stale;</li>
 *   <li>commits the chunk with that generation and length in the record that closes the
 *       file.</li>
 * </ol>
 * If no replica answers, nothing is dropped: the recovery reports "not yet" and is tried again.
 * The chunk is dropped only when no replica of it was ever placed or reported since this member
 * took office and every live chunkserver has reported since (then no live chunkserver holds a
 * replica), or when every replica that answers holds no synced byte.
 *
 * <p>Thread-safe; one recovery per path at a time (a second concurrent call answers false).
 */
public final class LastChunkRecovery implements LeaseRecovery, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(LastChunkRecovery.class);
  /** Threads asking replicas in parallel. */
  static final int CALL_THREADS = 4;

  private final MasterNode node;
  private final ChunkManager manager;
  private final ChunkServerCalls calls;
  private final Clock wallClock;
  private final Duration requestTimeout;
  private final ExecutorService pool;
  private final Set<String> underWay = ConcurrentHashMap.newKeySet();

  public LastChunkRecovery(MasterNode node, ChunkManager manager, ChunkServerCalls calls,
      Clock wallClock, Duration requestTimeout) {
    this.node = node;
    this.manager = manager;
    this.calls = calls;
    this.wallClock = wallClock;
    this.requestTimeout = requestTimeout;
    AtomicInteger count = new AtomicInteger();
    this.pool = Executors.newFixedThreadPool(CALL_THREADS, r -> {
      Thread thread = new Thread(r, "pangu-master-lease-recovery-" + count.incrementAndGet());
      thread.setDaemon(true);
      return thread;
    });
  }

  @Override
  public boolean recover(String path, String clientName) throws NamespaceException {
    Namespace namespace = node.namespace();
    FileStatus status = namespace.getStatus(path);
    if (!status.open()) {
      return true;
    }
    if (!status.leaseHolder().equals(clientName)
        && wallClock.millis() < status.leaseExpiryMs()) {
      return false;
    }
    if (!underWay.add(status.path())) {
      return false;
    }
    try {
      return recoverOpen(namespace, status, clientName);
    } finally {
      underWay.remove(status.path());
    }
  }

  private boolean recoverOpen(Namespace namespace, FileStatus status, String clientName)
      throws NamespaceException {
    String path = status.path();
    if (!status.lastChunkOpen()) {
      return closed(submit(p -> p.recoverLease(path, clientName)));
    }
    ChunkInfo chunk = namespace.chunks(path, status.chunkCount() - 1, 1).get(0);
    long chunkId = chunk.chunkId();
    List<ChunkServerView> holders = manager.possibleHolders(chunkId);
    if (holders.isEmpty()) {
      if (!manager.everPlacedOrReported(chunkId) && manager.reportsSettled()) {
        LOG.atInfo().addKeyValue("path", path).addKeyValue("chunk", Long.toUnsignedString(chunkId))
            .log("no replica of the uncommitted last chunk was ever placed; dropping it");
        return closed(submit(p -> p.recoverLeaseDroppingLastChunk(path, clientName)));
      }
      LOG.atInfo().addKeyValue("path", path).addKeyValue("chunk", Long.toUnsignedString(chunkId))
          .log("no live chunkserver may hold the uncommitted last chunk yet; retrying later");
      return false;
    }

    List<Answer> answers = ask(holders, chunkId);
    List<Answer> usable = new ArrayList<>();
    long syncedMax = 0;
    long generationMax = chunk.generation();
    for (Answer a : answers) {
      GetReplicaResponse r = a.replica();
      if (r.getCorrupt() || r.getState() == ReplicaState.REPLICA_STATE_UNREADABLE
          || Long.compareUnsigned(r.getGeneration(), chunk.generation()) < 0) {
        continue;
      }
      usable.add(a);
      syncedMax = Math.max(syncedMax, r.getSyncedLength());
      generationMax = Math.max(generationMax, r.getGeneration());
    }
    if (usable.isEmpty()) {
      LOG.atInfo().addKeyValue("path", path).addKeyValue("chunk", Long.toUnsignedString(chunkId))
          .addKeyValue("asked", holders.size()).addKeyValue("answered", answers.size())
          .log("no usable replica of the uncommitted last chunk answered; retrying later");
      return false;
    }
    if (syncedMax == 0) {
      // No replica synced a byte, so the writer acknowledged none: nothing to keep.
      return closed(submit(p -> p.recoverLeaseDroppingLastChunk(path, clientName)));
    }

    long length = syncedMax;
    long newGeneration = generationMax + 1;
    List<ChunkServerView> recovered = new ArrayList<>();
    for (Answer a : usable) {
      if (a.replica().getLength() < length) {
        continue;
      }
      try {
        long generation = a.replica().getGeneration();
        calls.seal(a.server(), chunkId, generation, length);
        calls.bumpGeneration(a.server(), chunkId, generation, newGeneration);
        recovered.add(a.server());
      } catch (StatusRuntimeException e) {
        LOG.atInfo().addKeyValue("chunk", Long.toUnsignedString(chunkId))
            .addKeyValue("chunkserver", a.server().id()).addKeyValue("status", e.getStatus())
            .log("a replica could not be sealed and bumped for recovery");
      }
    }
    if (recovered.isEmpty()) {
      return false;
    }
    int index = chunk.index();
    boolean closed = closed(submit(p -> p.recoverLeaseCommittingLastChunk(path, clientName,
        index, chunkId, newGeneration, length)));
    if (closed) {
      for (ChunkServerView server : recovered) {
        manager.replicaChanged(chunkId, server.id(), newGeneration, length,
            ReplicaState.REPLICA_STATE_SEALED);
      }
      manager.forgetExpected(chunkId);
      manager.noteAttention(chunkId);
      LOG.atInfo().addKeyValue("path", path).addKeyValue("chunk", Long.toUnsignedString(chunkId))
          .addKeyValue("length", length).addKeyValue("generation", newGeneration)
          .addKeyValue("replicas", recovered.size())
          .log("recovered the uncommitted last chunk at its synced length");
    }
    return closed;
  }

  private record Answer(ChunkServerView server, GetReplicaResponse replica) {}

  /** Asks every holder in parallel; returns the answers that came within the timeout. */
  private List<Answer> ask(List<ChunkServerView> holders, long chunkId) {
    List<CompletableFuture<Answer>> asked = new ArrayList<>();
    for (ChunkServerView server : holders) {
      asked.add(CompletableFuture.supplyAsync(
          () -> new Answer(server, calls.getReplica(server, chunkId)), pool));
    }
    List<Answer> answers = new ArrayList<>();
    long deadline = System.nanoTime() + requestTimeout.toNanos();
    for (CompletableFuture<Answer> f : asked) {
      try {
        answers.add(f.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS));
      } catch (ExecutionException | TimeoutException e) {
        // That replica did not answer (down, NOT_FOUND, timed out): recover from the others.
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    return answers;
  }

  private NamespaceReply submit(MasterCommand command) throws NamespaceException {
    try {
      return node.submit(command).get(requestTimeout.toMillis() * 2, TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof NamespaceException refused) {
        throw refused;
      }
      if (e.getCause() instanceof MasterUnavailableException unavailable) {
        throw unavailable;
      }
      throw new IllegalStateException(e.getCause());
    } catch (TimeoutException e) {
      throw new MasterUnavailableException(MasterUnavailableException.Reason.OUTCOME_UNKNOWN,
          null, "lease recovery record had no reply within " + requestTimeout.multipliedBy(2));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new MasterUnavailableException(MasterUnavailableException.Reason.STOPPED, null,
          "interrupted");
    }
  }

  private static boolean closed(NamespaceReply reply) {
    return reply instanceof NamespaceReply.Status status && !status.status().open();
  }

  @Override
  public void close() {
    pool.shutdownNow();
  }
}
