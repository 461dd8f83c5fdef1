package org.apsara.fuxi.tubo.agent;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import org.apsara.fuxi.api.v1.SequencedExit;
import org.apsara.fuxi.api.v1.WorkerExit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The worker exits not yet acknowledged by the master, each with its sequence number, oldest
 * first. Heartbeats carry all of them until an answer's {@code acknowledged_exit_sequence} covers
 * them.
 *
 * <p>Sequence numbers increase across Tubo restarts: the last one handed out is kept in a file,
 * written before the exit is queued. A master that acknowledged sequence 57 of this machine
 * before a Tubo restart must not take a new exit numbered 1 for one it already has.
 *
 * <p>Thread-safe.
 */
final class PendingExits {
  private static final Logger LOG = LoggerFactory.getLogger(PendingExits.class);

  private final Path sequenceFile;
  private final Deque<SequencedExit> pending = new ArrayDeque<>();
  private long lastSequence;
  private long dropped;

  private PendingExits(Path sequenceFile, long lastSequence) {
    this.sequenceFile = sequenceFile;
    this.lastSequence = lastSequence;
  }

  /**
   * Opens the queue, continuing the sequence kept in {@code sequenceFile} (from 1 if there is
   * none).
   *
   * @throws IOException if the file exists but cannot be read or does not hold a number
   */
  static PendingExits open(Path sequenceFile) throws IOException {
    long last = 0;
    if (Files.exists(sequenceFile)) {
      String text = Files.readString(sequenceFile, StandardCharsets.UTF_8).strip();
      try {
        last = Long.parseLong(text);
      } catch (NumberFormatException e) {
        throw new IOException("exit sequence file " + sequenceFile + " holds '" + text
            + "', not a number; remove it only if no master remembers this machine's exits");
      }
      if (last < 0) {
        throw new IOException("exit sequence file " + sequenceFile + " holds " + last);
      }
    }
    return new PendingExits(sequenceFile, last);
  }

  /** Queues an exit under the next sequence number, and returns that number. */
  synchronized long add(WorkerExit exit) {
    long sequence = lastSequence + 1;
    try {
      Path tmp = sequenceFile.resolveSibling(sequenceFile.getFileName() + ".tmp");
      Files.writeString(tmp, Long.toString(sequence), StandardCharsets.UTF_8);
      Files.move(tmp, sequenceFile, StandardCopyOption.REPLACE_EXISTING,
          StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      // The exit must still reach the master; after a restart the sequence may then repeat a
      // number, which is why this is loud.
      LOG.error("cannot record exit sequence {} in {}: {}", sequence, sequenceFile, e.toString());
    }
    lastSequence = sequence;
    pending.addLast(SequencedExit.newBuilder().setSequence(sequence).setExit(exit).build());
    if (pending.size() > AgentLimits.PENDING_EXITS_MAX) {
      SequencedExit oldest = pending.removeFirst();
      dropped++;
      LOG.warn("more than {} exits unacknowledged; dropped exit {} of worker {}",
          AgentLimits.PENDING_EXITS_MAX, oldest.getSequence(), oldest.getExit().getWorkerId());
    }
    return sequence;
  }

  /** The exits to send, oldest first. */
  synchronized List<SequencedExit> pending() {
    return new ArrayList<>(pending);
  }

  /**
   * Forgets the exits at or below {@code sequence}.
   */
  synchronized void acknowledge(long sequence) {
    while (!pending.isEmpty() && pending.peekFirst().getSequence() <= sequence) {
      pending.removeFirst();
    }
  }

  synchronized int size() {
    return pending.size();
  }

  synchronized long lastSequence() {
    return lastSequence;
  }

  synchronized long dropped() {
    return dropped;
  }
}
