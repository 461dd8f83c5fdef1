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
 * <p>Requests are not signed yet. The {@link org.apsara.pangu.master.server.CallerResolver} is
 * the one place that decides who a call comes from (owner and group of what it creates, subject
 * of its chunk tokens); today it returns the configured default for every call.
 */
package org.apsara.pangu.master.server;
