/**
 * What the leader does to keep every byte stored as often as its file asks: the replication
 * monitor, garbage collection and lease recovery.
 *
 * <h2>Replication monitor</h2>
 *
 * <p>{@link org.apsara.pangu.master.repair.ReplicationMonitor} runs every {@code repair.interval}
 * on the leader. {@link org.apsara.pangu.master.repair.RepairPlanner} (a pure function, unit
 * tested on values) classifies each replica of a committed chunk as healthy (sealed, committed
 * generation and length, not corrupt, on a live chunkserver), to be sealed (open with at least
 * the committed length: the master seals replicas after CommitChunk), stale (another generation,
 * another sealed length, or open and too short) or corrupt. Missing replicas are copied
 * ({@code ReplicateReplica}) from a healthy one to a chunkserver chosen by placement, chunks with
 * the fewest healthy replicas first, at most {@code copies.per.chunkserver} copies per
 * chunkserver at a time. Corrupt and stale replicas are deleted once a healthy copy exists;
 * excess healthy replicas are trimmed keeping racks. Each replica has at most one call under
 * way.
 *
 * <h2>Garbage and orphans</h2>
 *
 * <p>Chunks that no file refers to any more ({@code Namespace.garbageChunks}) have their replicas
 * deleted ({@code DeleteReplicas}, batches of at most 1024 per chunkserver) and are forgotten
 * ({@code ForgetGarbageChunks}) once no live chunkserver holds one, and only after every live
 * chunkserver has reported to this leader. A chunkserver that was down then keeps its replica;
 * when it reports it, the namespace calls the chunk an orphan (allocated once, now neither in a
 * file nor garbage) and the replica is deleted. Replicas of chunk ids the namespace has not
 * allocated yet are never touched.
 *
 * <h2>Lease recovery</h2>
 *
 * <p>{@link org.apsara.pangu.master.repair.LastChunkRecovery} closes a file whose writer's lease
 * expired without losing a byte the writer acknowledged: it asks the replicas of an uncommitted
 * last chunk for their synced lengths, seals those holding at least the largest synced length at
 * that length, raises their generation, and commits the chunk in the record that closes the
 * file. If no replica answers, it says "not yet" and is retried; it drops the chunk only when no
 * replica was ever placed or when no replica synced a byte.
 */
package org.apsara.pangu.master.repair;
