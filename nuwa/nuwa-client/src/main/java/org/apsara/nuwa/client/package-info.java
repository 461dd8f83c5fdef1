/**
 * The Java client of Nuwa, Apsara's etcd-v3-compatible coordination service. It speaks etcd's v3
 * gRPC API directly, so it works against Nuwa and against etcd alike.
 *
 * <p>Start from {@link org.apsara.nuwa.client.NuwaClient}: {@code kv()} for keys and transactions,
 * {@code watch()} for change streams, {@code lease()} for leases and keep-alives. Values such as
 * {@link org.apsara.nuwa.client.KeyValue}, {@link org.apsara.nuwa.client.KeyRange} and the option
 * classes are immutable; the clients are thread-safe. Failures are {@link
 * org.apsara.nuwa.client.NuwaException}s carrying the server's message. For a cluster with
 * authentication enabled, give the client a user with {@code NuwaClient.Builder.user}.
 *
 * <p>Higher-level recipes (sessions, locks, leader election, service discovery) are in {@code
 * org.apsara.nuwa.client.recipes}.
 */
package org.apsara.nuwa.client;
