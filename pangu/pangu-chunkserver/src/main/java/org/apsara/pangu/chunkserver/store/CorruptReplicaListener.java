package org.apsara.pangu.chunkserver.store;

/**
 * Told about each replica found corrupt, so that the chunkserver can report it to the master.
 *
 * <p>Called once per replica per {@link ChunkStore} instance, when the replica is first marked
 * corrupt (the chunk report also carries the corrupt flag, so a report the master missed is
 * repeated there). Called on the thread that found the corruption: the one opening the store,
 * a reader, or the scrubber, after the store has released its locks for that replica; it must not
 * block for long. Exceptions it throws are logged and otherwise ignored.
 */
@FunctionalInterface
public interface CorruptReplicaListener {
  void onCorruptReplica(CorruptReplicaReport report);

  /** A listener that ignores reports; the chunk report still carries the corrupt flag. */
  CorruptReplicaListener IGNORE = report -> {};
}
