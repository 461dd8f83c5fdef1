/**
 * Lease deadlines: the leader-local, unreplicated side of etcd leases. Which leases exist and
 * which keys they hold is replicated state in {@code org.apsara.nuwa.server.mvcc}; when each
 * lease runs out is decided by the leader alone, on its own monotonic clock.
 */
package org.apsara.nuwa.server.lease;
