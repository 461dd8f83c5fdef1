/**
 * The Pangu master's namespace: directories, files, their attributes, chunk lists, writer leases
 * and quotas, kept in RocksDB and changed only by applying replicated log records.
 *
 * <h2>Generate, then apply</h2>
 *
 * <p>On the leader a {@link org.apsara.pangu.master.namespace.NamespaceProposer} turns a command
 * into a {@code NamespaceRecord} (see {@code namespace_log.proto}), stamping the time, new inode
 * and chunk ids and lease expiries into it, and dry-runs it against the applied state so that a
 * bad command is refused before it reaches the log. Every replica then calls
 * {@link org.apsara.pangu.master.namespace.Namespace#apply} with the same records in the same
 * order. The apply validates each record again (records proposed concurrently may conflict) and
 * either stages all of its changes or refuses it with a
 * {@link org.apsara.pangu.master.namespace.NamespaceException}; the same code judges the dry
 * run and the apply, and the apply reads no clock, so every replica reaches the same state and
 * the same reply. A refused record changes nothing but the applied index.
 *
 * <h2>Stored layout (format version 2)</h2>
 *
 * <p>One RocksDB database, bytewise key order, numbers big-endian unsigned:
 *
 * <table>
 *   <caption>Column families</caption>
 *   <tr><th>Column family</th><th>Key</th><th>Value</th></tr>
 *   <tr><td>{@code default}</td><td>ASCII {@code "meta"}</td><td>{@code NamespaceMeta}: format
 *       version, applied term and index, next inode id, next chunk id, last record time</td></tr>
 *   <tr><td>{@code inodes}</td><td>inode id (8 bytes)</td><td>{@code Inode}: kind, parent id,
 *       name, mode, owner, group, times; files: length, replication, chunk size, chunk count,
 *       open/closed, lease holder and expiry; directories: quotas and subtree counters</td></tr>
 *   <tr><td>{@code dentries}</td><td>parent id (8) + name (UTF-8)</td><td>child id (8): a
 *       directory's children are one contiguous range in name order, listed by a range
 *       scan</td></tr>
 *   <tr><td>{@code chunks}</td><td>file id (8) + chunk index (4)</td><td>{@code ChunkEntry}:
 *       chunk id, generation, length, sealed. Adding a chunk writes one key, never a
 *       list</td></tr>
 *   <tr><td>{@code leases}</td><td>client name (UTF-8) + 0x00 + file id (8)</td><td>empty: the
 *       open files of each client, for renewal and the lease monitor</td></tr>
 *   <tr><td>{@code reclaim}</td><td>inode id (8)</td><td>empty: roots of deleted subtrees
 *       waiting to be freed</td></tr>
 *   <tr><td>{@code garbage}</td><td>chunk id (8)</td><td>{@code GarbageChunk}: chunks no file
 *       refers to, whose replicas may be deleted</td></tr>
 *   <tr><td>{@code chunk_owners}</td><td>chunk id (8)</td><td>file id (8) + chunk index (4): the
 *       key of the chunk in {@code chunks}, written and deleted with it, so that a replica a
 *       chunkserver reports is looked up by its chunk id
 *       ({@link org.apsara.pangu.master.namespace.Namespace#chunkOwnership})</td></tr>
 * </table>
 *
 * <p>The root is inode 1; a new namespace holds only the root (owner {@code pangu}, group
 * {@code supergroup}, mode 0755, time 0) at applied index 0. Every record's changes and the
 * new meta record go into one {@code WriteBatch}, so the applied index always matches the state:
 * after a crash, RocksDB recovers some prefix of its write-ahead log and the Raft log is replayed
 * from the index that prefix holds.
 *
 * <h2>Counters and quotas</h2>
 *
 * <p>Every directory keeps exact counters of its subtree: files, directories (itself
 * included), committed bytes and raw space (replication times committed bytes, plus a whole chunk
 * size for each file's uncommitted last chunk). Each change updates the counters of all
 * ancestors (at most {@link org.apsara.pangu.master.namespace.NamespaceLimits#MAX_PATH_DEPTH}).
 * A name quota limits files plus directories, a space quota the raw space; both are checked on
 * every ancestor before mkdirs, create, addChunk and rename, and only growth is refused. Content
 * summaries and the "is this directory empty" check read one inode instead of walking.
 *
 * <h2>Deleting big subtrees</h2>
 *
 * <p>A delete record removes the directory entry and subtracts the subtree's counters from its
 * ancestors, so the subtree vanishes from the namespace at once. A small file or an empty
 * directory is freed by the same record; anything bigger gets parent id 0 and goes into the
 * {@code reclaim} queue. {@code ReclaimDeleted} records then free it in bounded batches: a queued
 * directory's children are unlinked and freed in place (small files) or queued themselves, a
 * queued file's chunks move to {@code garbage} a batch at a time. The queue is the only cursor, so
 * batches in flight never conflict. Chunks that became garbage are listed by
 * {@link org.apsara.pangu.master.namespace.Namespace#garbageChunks} until a
 * {@code ForgetGarbageChunks} record removes them.
 *
 * <h2>Leases</h2>
 *
 * <p>A lease belongs to one open file and one client and ends at an expiry time the leader
 * stamped. It is live while the record time is before the expiry. An expired lease makes the file
 * recoverable by anyone: {@code recoverLease} (or an {@code append} or overwriting {@code create}
 * by another client) closes it. A file whose last chunk is uncommitted is closed only by a
 * {@code RecoverLease} record that says what to do with that chunk: commit it at the generation
 * and length the leader recovered from its replicas, or drop it (no replica was ever placed, or
 * none synced a byte). Without that choice the record is refused, and so is an {@code append}:
 * no record drops synced bytes by omission. An overwriting {@code create} replaces the file and
 * its chunks become garbage. Lease times are wall-clock milliseconds: a new leader whose clock runs ahead could
 * expire leases early, so it should grant a grace period (one lease duration) before recovering.
 *
 * <h2>Snapshots</h2>
 *
 * <p>A snapshot is a RocksDB checkpoint
 * ({@link org.apsara.pangu.master.namespace.Namespace#checkpoint}):
 * a directory of SST files (hard links where the file system allows), a MANIFEST, OPTIONS and
 * CURRENT, holding all column families at one applied index, which its meta record states.
 * {@link org.apsara.pangu.master.namespace.Namespace#restore} copies such a directory into place
 * and opens it; applying the records after its index gives the same state as never having
 * snapshotted.
 */
package org.apsara.pangu.master.namespace;
