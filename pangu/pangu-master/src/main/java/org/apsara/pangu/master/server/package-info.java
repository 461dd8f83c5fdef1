/**
 * The Pangu master as a network service: {@link org.apsara.pangu.master.server.MasterServer}
 * runs one member (Raft node, chunk manager, replication monitor, lease recovery, the gRPC
 * services {@code apsara.pangu.v1.PanguMaster} and {@code ChunkServerTracker} on the client port,
 * and /metrics, /health and /ready over HTTP), configured by {@link
 * org.apsara.pangu.master.server.MasterServerConfig}.
 *
 * <h2>Errors</h2>
 *
 * <p>{@link org.apsara.pangu.master.server.MasterErrors} maps every failure to the status the
 * contract's header names, with the code in the "x-pangu-error-code" trailer; a follower answers
 * UNAVAILABLE (NOT_LEADER) with the leader's client address in "x-pangu-leader", which is why
 * every member is configured with every member's client address.
 *
 * <h2>Callers</h2>
 *
 * <p>{@link org.apsara.pangu.master.server.MasterAccess} decides who a call comes from (owner and
 * group of what it creates, subject of its chunk tokens, the name its leases are held under) and
 * what it may do. With an identity service configured, every call on {@code PanguMaster} must be
 * signed (APSARA4-HMAC-SHA256, scoped to the service {@code pangu}) and each is authorized by
 * the caller's RAM policies; without one every call is the configured default owner.
 * {@code ChunkServerTracker} is not signed: chunkservers are guarded by mutual TLS where it is on.
 */
package org.apsara.pangu.master.server;
