/**
 * Nuwa's replicated state: an in-memory multi-version key-value store with etcd v3 semantics.
 *
 * <p>{@link org.apsara.nuwa.server.mvcc.MvccStore} is applied by one thread (the Raft apply
 * thread) and read by many. Every write is staged first and becomes visible all at once by
 * publishing a new revision; readers never block the writer and never see half a revision.
 * {@link org.apsara.nuwa.server.mvcc.RequestValidator} holds the checks that need no state, so
 * the server can reject a bad request before it enters the log.
 */
package org.apsara.nuwa.server.mvcc;
