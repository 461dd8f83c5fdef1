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
 * excess healthy replicas are trimmed keeping racks and hosts, from the fullest chunkserver
 * first, and only while no copy, seal or deletion of the chunk is under way. Each replica has at
 * most one call under way.
 *
 * <h2>Balancer</h2>
 *
 * <p>After repair, each round compares the chunkservers' used fractions (counting bytes on their
 * way). When the fullest exceeds the emptiest by more than {@code balance.threshold} percentage
 * points, {@link org.apsara.pangu.master.repair.BalancePlanner} (pure, unit tested on values)
 * picks healthy, committed, fully replicated chunks of the fullest chunkservers and a less full
 * target for each that keeps the chunk's hosts and racks as diverse as before. The monitor copies
 * each there with the copy slots repair left free, at most {@code balance.copies.max} moves at a
 * time; the trimming of excess replicas then removes the replica from the fuller chunkserver. A
 * chunk is never below its replication because of a move: the copy lands before the trim.
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
