/**
 * Coordination recipes built on the KV, watch and lease API, in the manner of etcd's Go {@code
 * concurrency} package and with its key layout, so that they interoperate with {@code etcdctl
 * lock}, {@code etcdctl elect} and Go programs:
 *
 * <ul>
 *   <li>{@link org.apsara.nuwa.client.recipes.Session}: a lease kept alive while the process lives;
 *   <li>{@link org.apsara.nuwa.client.recipes.DistributedLock}: a fair mutual-exclusion lock;
 *   <li>{@link org.apsara.nuwa.client.recipes.LeaderElection}: campaign, proclaim, resign, observe;
 *   <li>{@link org.apsara.nuwa.client.recipes.ServiceRegistry}: register instances, discover them,
 *       watch them come and go.
 * </ul>
 *
 * <p>Everything held through a session (a lock, leadership, a registration) ends when the session
 * ends, including when the process dies and its lease expires.
 */
package org.apsara.nuwa.client.recipes;
