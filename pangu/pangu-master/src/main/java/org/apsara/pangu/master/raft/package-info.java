/**
 * The Pangu master's namespace, replicated with Apache Ratis.
 *
 * <p>{@link org.apsara.pangu.master.raft.MasterNode} is one member of the master group (1, 3 or
 * 5 members): it runs a Ratis server over {@link org.apsara.raft.RaftTransport}, whose state
 * machine ({@link org.apsara.pangu.master.raft.MasterStateMachine}) applies one
 * {@code NamespaceRecord} per log entry to the RocksDB namespace. The ready leader turns commands
 * into records with its {@link org.apsara.pangu.master.namespace.NamespaceProposer}; followers
 * refuse commands and name the leader. Reads are linearizable on the leader (Raft read index) or
 * stale from any member.
 *
 * <h2>Data directory</h2>
 *
 * <pre>
 * dataDir/
 *   raft/&lt;group uuid&gt;/current/   Ratis's log segments and metadata
 *   raft/&lt;group uuid&gt;/sm/        snapshots: snapshot.&lt;term&gt;_&lt;index&gt;/checkpoint/ (a RocksDB
 *                                checkpoint) and .../namespace-applied (its namespace index)
 *   namespace/                   the live RocksDB namespace
 * </pre>
 *
 * <h2>Leader duties</h2>
 *
 * <p>Only the ready leader runs the lease monitor (recovers leases that expired, after a grace of
 * one lease duration from taking office) and the reclaim driver (frees deleted subtrees in
 * bounded records); both stop when leadership is lost. How a file with an uncommitted last chunk
 * is recovered is a {@link org.apsara.pangu.master.raft.LeaseRecovery} the server installs (it
 * asks the chunkservers); other leader-only state follows leadership through a {@link
 * org.apsara.pangu.master.raft.LeadershipObserver}.
 */
package org.apsara.pangu.master.raft;
