/**
 * The leader's soft state about chunkservers and replicas, and the calls the master makes on
 * chunkservers.
 *
 * <p>{@link org.apsara.pangu.master.chunks.ChunkManager} holds, for the current leader only,
 * every chunkserver (location, rack, space, last heartbeat, alive or dead) and every replica it
 * reported (generation, length, state, corrupt flag), learnt from {@code ChunkServerTracker}
 * heartbeats (full and incremental reports) and from the master's own seals, bumps, copies and
 * deletions. None of it is replicated: a new leader starts empty, asks every chunkserver for a
 * full report, and trusts "no replica reported" only after one dead interval ({@link
 * org.apsara.pangu.master.chunks.ChunkManager#reportsSettled}).
 *
 * <h2>Liveness</h2>
 *
 * <p>Chunkservers heartbeat every {@code heartbeat.interval} (3 s by default); one silent for
 * {@code dead.interval} (30 s, at least two heartbeat intervals) is declared dead, on the
 * injected monotonic clock. Its replicas are forgotten at once, so its chunks count as
 * under-replicated and are copied elsewhere; if it returns, it is asked for a full report and its
 * replicas count again (excess ones are then trimmed).
 *
 * <h2>Placement</h2>
 *
 * <p>A new chunk's replicas go to distinct live chunkservers whose free space, minus chunks
 * placed on them since their last heartbeat, holds a whole chunk: the first on the writer's host
 * if a chunkserver runs there, then distinct hosts, and at least two racks when racks are
 * configured; ties are broken by two random draws weighted by free space, from a seeded source
 * (see {@code ChunkPlacement}). Too few candidates is a {@link
 * org.apsara.pangu.master.chunks.NotEnoughChunkServersException} whose message gives the numbers
 * (known, alive, excluded by the writer, without room). Readers get replicas nearest first: same
 * host, same rack, then the rest, spread by chunk.
 *
 * <h2>Usage between reports</h2>
 *
 * <p>A chunkserver's reported space is a heartbeat old. Until its next heartbeat, the manager
 * adds what it placed or copied there and subtracts what it deleted there ({@link
 * org.apsara.pangu.master.chunks.ChunkServerView#pendingBytes}); copies under way count until
 * they end. Placement and the balancer use these projected numbers, so that a round does not
 * send more to a chunkserver than it has room for or than evens it out. A replica the master
 * deleted is ignored in the chunkserver's next two heartbeats, which may have been built before
 * the deletion.
 *
 * <h2>Threading</h2>
 *
 * <p>The chunk manager is one lock around plain maps; no method blocks or calls out, so every
 * network call (in {@link org.apsara.pangu.master.chunks.GrpcChunkServerCalls}) happens outside
 * it. Given the same calls, clock readings and seed, it reaches the same state.
 */
package org.apsara.pangu.master.chunks;
