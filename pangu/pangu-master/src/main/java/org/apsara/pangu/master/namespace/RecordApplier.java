package org.apsara.pangu.master.namespace;

import static org.apsara.pangu.master.namespace.NamespaceErrorCode.ALREADY_EXISTS;
import static org.apsara.pangu.master.namespace.NamespaceErrorCode.CHUNK_MISMATCH;
import static org.apsara.pangu.master.namespace.NamespaceErrorCode.CHUNK_NOT_COMMITTED;
import static org.apsara.pangu.master.namespace.NamespaceErrorCode.DIRECTORY_NOT_EMPTY;
import static org.apsara.pangu.master.namespace.NamespaceErrorCode.FILE_TOO_LARGE;
import static org.apsara.pangu.master.namespace.NamespaceErrorCode.ID_CONFLICT;
import static org.apsara.pangu.master.namespace.NamespaceErrorCode.INVALID_ARGUMENT;
import static org.apsara.pangu.master.namespace.NamespaceErrorCode.IS_A_DIRECTORY;
import static org.apsara.pangu.master.namespace.NamespaceErrorCode.LEASE_EXPIRED;
import static org.apsara.pangu.master.namespace.NamespaceErrorCode.LEASE_HELD_BY_OTHER;
import static org.apsara.pangu.master.namespace.NamespaceErrorCode.NOT_A_DIRECTORY;
import static org.apsara.pangu.master.namespace.NamespaceErrorCode.NOT_FOUND;
import static org.apsara.pangu.master.namespace.NamespaceErrorCode.NOT_LEASE_HOLDER;
import static org.apsara.pangu.master.namespace.NamespaceErrorCode.RENAME_INTO_OWN_SUBTREE;
import static org.apsara.pangu.master.namespace.NamespaceErrorCode.ROOT_NOT_ALLOWED;
import static org.apsara.pangu.master.namespace.NamespaceErrorCode.TOO_MANY_OPEN_FILES;
import static org.apsara.pangu.master.namespace.NamespaceTree.checkPrincipal;
import static org.apsara.pangu.master.namespace.NamespaceTree.deltaOf;
import static org.apsara.pangu.master.namespace.NamespaceTree.describeExpiry;
import static org.apsara.pangu.master.namespace.NamespaceTree.isDirectory;
import static org.apsara.pangu.master.namespace.NamespaceTree.isOpen;
import static org.apsara.pangu.master.namespace.NamespaceTree.statusOf;

import org.apsara.pangu.master.namespace.NamespaceStore.Column;
import org.apsara.pangu.master.namespace.NamespaceTree.Chain;
import org.apsara.pangu.master.namespace.NamespaceTree.Delta;
import org.apsara.pangu.master.namespace.proto.AddChunk;
import org.apsara.pangu.master.namespace.proto.AppendFile;
import org.apsara.pangu.master.namespace.proto.ChunkEntry;
import org.apsara.pangu.master.namespace.proto.CloseFile;
import org.apsara.pangu.master.namespace.proto.CommitChunk;
import org.apsara.pangu.master.namespace.proto.CreateFile;
import org.apsara.pangu.master.namespace.proto.Delete;
import org.apsara.pangu.master.namespace.proto.DirectoryCounts;
import org.apsara.pangu.master.namespace.proto.FileState;
import org.apsara.pangu.master.namespace.proto.ForgetGarbageChunks;
import org.apsara.pangu.master.namespace.proto.GarbageChunk;
import org.apsara.pangu.master.namespace.proto.Inode;
import org.apsara.pangu.master.namespace.proto.InodeKind;
import org.apsara.pangu.master.namespace.proto.Mkdirs;
import org.apsara.pangu.master.namespace.proto.NamespaceMeta;
import org.apsara.pangu.master.namespace.proto.NamespaceRecord;
import org.apsara.pangu.master.namespace.proto.ReclaimDeleted;
import org.apsara.pangu.master.namespace.proto.RecoverLease;
import org.apsara.pangu.master.namespace.proto.RecoveredChunk;
import org.apsara.pangu.master.namespace.proto.Rename;
import org.apsara.pangu.master.namespace.proto.RenewLease;
import org.apsara.pangu.master.namespace.proto.SetOwner;
import org.apsara.pangu.master.namespace.proto.SetPermission;
import org.apsara.pangu.master.namespace.proto.SetQuota;
import org.apsara.pangu.master.namespace.proto.SetTimes;

/**
 * The meaning of each record: validates it against the state in a {@link NamespaceTxn} and stages
 * its changes there. Deterministic: the result depends only on the state and the record (its
 * time included), never on a clock, a random source or the replica. A refusal throws before the
 * caller writes anything, so a refused record changes nothing.
 */
final class RecordApplier {
  /** Generation of a freshly allocated chunk. */
  static final long INITIAL_GENERATION = 1;

  private final NamespaceTxn txn;
  private final NamespaceTree tree;
  private final long timeMs;

  private RecordApplier(NamespaceTxn txn, long timeMs) {
    this.txn = txn;
    this.tree = new NamespaceTree(txn);
    this.timeMs = timeMs;
  }

  /** Validates {@code record} and stages its changes in {@code txn}. */
  static NamespaceReply apply(NamespaceTxn txn, NamespaceRecord record) throws NamespaceException {
    RecordApplier applier = new RecordApplier(txn, record.getTimeMs());
    return switch (record.getOpCase()) {
      case MKDIRS -> applier.mkdirs(record.getMkdirs());
      case CREATE_FILE -> applier.create(record.getCreateFile());
      case APPEND_FILE -> applier.append(record.getAppendFile());
      case ADD_CHUNK -> applier.addChunk(record.getAddChunk());
      case COMMIT_CHUNK -> applier.commitChunk(record.getCommitChunk());
      case RENEW_LEASE -> applier.renewLease(record.getRenewLease());
      case CLOSE_FILE -> applier.close(record.getCloseFile());
      case RECOVER_LEASE -> applier.recoverLease(record.getRecoverLease());
      case RENAME -> applier.rename(record.getRename());
      case DELETE -> applier.delete(record.getDelete());
      case RECLAIM_DELETED -> applier.reclaim(record.getReclaimDeleted());
      case FORGET_GARBAGE_CHUNKS -> applier.forgetGarbage(record.getForgetGarbageChunks());
      case SET_TIMES -> applier.setTimes(record.getSetTimes());
      case SET_PERMISSION -> applier.setPermission(record.getSetPermission());
      case SET_OWNER -> applier.setOwner(record.getSetOwner());
      case SET_QUOTA -> applier.setQuota(record.getSetQuota());
      // Namespace.apply takes a batch apart; one inside another is refused.
      case BATCH -> throw new NamespaceException(INVALID_ARGUMENT, "", "a record batch in a batch");
      case OP_NOT_SET -> throw new NamespaceException(INVALID_ARGUMENT, "", "record has no op");
    };
  }

  // ------------------------------------------------------------------ directories and files

  private NamespaceReply mkdirs(Mkdirs r) throws NamespaceException {
    NamespacePath path = NamespacePath.parse(r.getPath());
    checkMode(r.getMode(), path);
    checkPrincipal("owner", r.getOwner(), path.toString());
    checkPrincipal("group", r.getGroup(), path.toString());
    Chain chain = tree.resolve(path);
    if (chain.complete()) {
      if (!isDirectory(chain.inode())) {
        throw new NamespaceException(ALREADY_EXISTS, path.toString(), path + " exists as a file");
      }
      return new NamespaceReply.Status(statusOf(path.toString(), chain.id(), chain.inode()));
    }
    int missing = path.depth() + 1 - chain.found;
    reserveInodeIds(r.getFirstInodeId(), path.depth(), path);
    Delta added = new Delta(0, missing, 0, 0);
    NamespaceTree.checkQuotas(chain, 0, chain.found, added, path.toString());

    long parent = chain.id();
    long id = 0;
    Inode created = null;
    for (int j = 0; j < missing; j++) {
      id = r.getFirstInodeId() + j;
      String name = path.component(chain.found - 1 + j);
      created = Inode.newBuilder()
          .setKind(InodeKind.INODE_KIND_DIRECTORY)
          .setParentId(parent)
          .setName(name)
          .setMode(r.getMode())
          .setOwner(r.getOwner())
          .setGroup(r.getGroup())
          .setMtimeMs(timeMs)
          .setAtimeMs(timeMs)
          .setCounts(DirectoryCounts.newBuilder().setDirectories(missing - j))
          .build();
      txn.putInode(id, created);
      txn.putDentry(parent, name, id);
      parent = id;
    }
    tree.adjustCounts(chain, 0, chain.found, added);
    tree.update(chain.id(), b -> b.setMtimeMs(timeMs));
    return new NamespaceReply.Status(statusOf(path.toString(), id, created));
  }

  private NamespaceReply create(CreateFile r) throws NamespaceException {
    NamespacePath path = NamespacePath.parse(r.getPath());
    String p = path.toString();
    if (path.isRoot()) {
      throw new NamespaceException(IS_A_DIRECTORY, p, "/ is a directory");
    }
    checkPrincipal("client", r.getClientName(), p);
    if (r.getReplication() < 1 || r.getReplication() > NamespaceLimits.MAX_REPLICATION) {
      throw new NamespaceException(INVALID_ARGUMENT, p, "replication " + r.getReplication()
          + " of " + p + " is outside 1.." + NamespaceLimits.MAX_REPLICATION);
    }
    if (r.getChunkSizeBytes() < NamespaceLimits.MIN_CHUNK_SIZE_BYTES
        || r.getChunkSizeBytes() > NamespaceLimits.MAX_CHUNK_SIZE_BYTES) {
      throw new NamespaceException(INVALID_ARGUMENT, p, "chunk size " + r.getChunkSizeBytes()
          + " of " + p + " is outside " + NamespaceLimits.MIN_CHUNK_SIZE_BYTES + ".."
          + NamespaceLimits.MAX_CHUNK_SIZE_BYTES + " bytes");
    }
    checkMode(r.getMode(), path);
    checkPrincipal("owner", r.getOwner(), p);
    checkPrincipal("group", r.getGroup(), p);
    Chain chain = tree.resolve(path);
    int depth = path.depth();
    if (chain.found < depth) {
      throw new NamespaceException(NOT_FOUND, p, "cannot create " + p + ": directory "
          + path.prefix(chain.found) + " does not exist");
    }
    Inode old = chain.complete() ? chain.inode() : null;
    long oldId = chain.complete() ? chain.id() : 0;
    if (old != null) {
      if (isDirectory(old)) {
        throw new NamespaceException(IS_A_DIRECTORY, p, p + " is a directory");
      }
      if (!r.getOverwrite()) {
        throw new NamespaceException(ALREADY_EXISTS, p, p + " already exists");
      }
      if (isOpen(old) && !old.getLeaseHolder().equals(r.getClientName()) && !expired(old)) {
        throw leaseHeld(p, old);
      }
    }
    reserveInodeIds(r.getInodeId(), 1, path);
    boolean sameHolder = old != null && isOpen(old)
        && old.getLeaseHolder().equals(r.getClientName());
    checkOpenFileLimit(r.getClientName(), sameHolder ? 1 : 0, p);
    Delta removed = old == null ? Delta.ZERO : deltaOf(old).negate();
    Delta change = removed.plus(new Delta(1, 0, 0, 0));
    NamespaceTree.checkQuotas(chain, 0, depth, change, p);

    if (old != null) {
      freeOrDetach(oldId, old);
    }
    Inode file = Inode.newBuilder()
        .setKind(InodeKind.INODE_KIND_FILE)
        .setParentId(chain.ids[depth - 1])
        .setName(path.name())
        .setMode(r.getMode())
        .setOwner(r.getOwner())
        .setGroup(r.getGroup())
        .setMtimeMs(timeMs)
        .setAtimeMs(timeMs)
        .setReplication(r.getReplication())
        .setChunkSizeBytes(r.getChunkSizeBytes())
        .setState(FileState.FILE_STATE_OPEN)
        .setLeaseHolder(r.getClientName())
        .setLeaseExpiryMs(r.getLeaseExpiryMs())
        .build();
    txn.putInode(r.getInodeId(), file);
    txn.putDentry(chain.ids[depth - 1], path.name(), r.getInodeId());
    txn.putLease(r.getClientName(), r.getInodeId());
    tree.adjustCounts(chain, 0, depth, change);
    tree.update(chain.ids[depth - 1], b -> b.setMtimeMs(timeMs));
    return new NamespaceReply.Status(statusOf(p, r.getInodeId(), file));
  }

  private NamespaceReply append(AppendFile r) throws NamespaceException {
    NamespacePath path = NamespacePath.parse(r.getPath());
    String p = path.toString();
    checkPrincipal("client", r.getClientName(), p);
    Chain chain = tree.require(path);
    Inode file = chain.inode();
    if (isDirectory(file)) {
      throw new NamespaceException(IS_A_DIRECTORY, p, p + " is a directory");
    }
    boolean heldByCaller = isOpen(file) && file.getLeaseHolder().equals(r.getClientName());
    if (isOpen(file) && !expired(file)) {
      if (!heldByCaller) {
        throw leaseHeld(p, file);
      }
      // The caller already writes this file: a retried append; extend its lease.
      Inode renewed = tree.update(chain.id(), b -> b.setLeaseExpiryMs(
          Math.max(b.getLeaseExpiryMs(), r.getLeaseExpiryMs())));
      return new NamespaceReply.Status(statusOf(p, chain.id(), renewed));
    }
    if (isOpen(file) && file.getLastChunkOpen()) {
      // Closing here would drop bytes the previous writer synced into its last chunk: only a
      // lease recovery that asks the replicas may close such a file.
      throw new NamespaceException(CHUNK_NOT_COMMITTED, p, "cannot append to " + p
          + ": the lease of client '" + file.getLeaseHolder() + "' expired with chunk "
          + (file.getChunkCount() - 1) + " uncommitted; recover the lease first");
    }
    checkOpenFileLimit(r.getClientName(), heldByCaller ? 1 : 0, p);
    if (isOpen(file)) {
      // The previous writer's lease ran out with every chunk committed: close the file first.
      recover(chain);
    }
    Inode reopened = tree.update(chain.id(), b -> b
        .setState(FileState.FILE_STATE_OPEN)
        .setLeaseHolder(r.getClientName())
        .setLeaseExpiryMs(r.getLeaseExpiryMs()));
    txn.putLease(r.getClientName(), chain.id());
    return new NamespaceReply.Status(statusOf(p, chain.id(), reopened));
  }

  // ------------------------------------------------------------------ writing

  private NamespaceReply addChunk(AddChunk r) throws NamespaceException {
    checkPrincipal("client", r.getClientName(), "");
    if (r.hasCommitPrevious()) {
      commitFirst(r.getCommitPrevious(), r.getFileId(), r.getClientName());
    }
    Chain chain = tree.locate(r.getFileId());
    String p = chain.path();
    Inode file = checkWriter(chain, r.getClientName());
    if (file.getLastChunkOpen()) {
      throw new NamespaceException(CHUNK_NOT_COMMITTED, p, "chunk " + (file.getChunkCount() - 1)
          + " of " + p + " is not committed yet");
    }
    if (file.getChunkCount() >= NamespaceLimits.MAX_CHUNKS_PER_FILE) {
      throw new NamespaceException(FILE_TOO_LARGE, p, p + " already has the maximum of "
          + NamespaceLimits.MAX_CHUNKS_PER_FILE + " chunks");
    }
    NamespaceMeta meta = txn.meta();
    if (r.getChunkId() < meta.getNextChunkId()) {
      throw new NamespaceException(ID_CONFLICT, p, "chunk id " + r.getChunkId()
          + " was already used (next free is " + meta.getNextChunkId() + ")");
    }
    int depth = chain.found - 1;
    Delta reserved = new Delta(0, 0, 0, (long) file.getReplication() * file.getChunkSizeBytes());
    NamespaceTree.checkQuotas(chain, 0, depth, reserved, p);

    int index = file.getChunkCount();
    txn.putChunk(chain.id(), index, ChunkEntry.newBuilder()
        .setChunkId(r.getChunkId())
        .setGeneration(INITIAL_GENERATION)
        .build());
    tree.update(chain.id(), b -> b.setChunkCount(index + 1).setLastChunkOpen(true));
    tree.adjustCounts(chain, 0, depth, reserved);
    txn.setMeta(meta.toBuilder().setNextChunkId(r.getChunkId() + 1).build());
    return new NamespaceReply.Chunk(
        new ChunkInfo(chain.id(), index, r.getChunkId(), INITIAL_GENERATION, 0, false));
  }

  /**
   * The commit an AddChunk or a CloseFile asks for before its own change, staged in the same
   * txn: if either is refused, neither happens.
   */
  private void commitFirst(CommitChunk c, long fileId, String clientName)
      throws NamespaceException {
    if (c.getFileId() != fileId || !c.getClientName().equals(clientName)) {
      throw new NamespaceException(INVALID_ARGUMENT, "", "the chunk to commit first is of file "
          + c.getFileId() + " by '" + c.getClientName() + "', not of file " + fileId + " by '"
          + clientName + "'");
    }
    commitChunk(c);
  }

  private NamespaceReply commitChunk(CommitChunk r) throws NamespaceException {
    checkPrincipal("client", r.getClientName(), "");
    if (r.getGeneration() < INITIAL_GENERATION) {
      throw new NamespaceException(INVALID_ARGUMENT, "", "chunk generation "
          + r.getGeneration() + " is below " + INITIAL_GENERATION);
    }
    Chain chain = tree.locate(r.getFileId());
    String p = chain.path();
    Inode file = checkWriter(chain, r.getClientName());
    if (r.getLengthBytes() < 0 || r.getLengthBytes() > file.getChunkSizeBytes()) {
      throw new NamespaceException(INVALID_ARGUMENT, p, "chunk length " + r.getLengthBytes()
          + " of " + p + " is outside 0.." + file.getChunkSizeBytes() + " bytes");
    }
    int index = r.getChunkIndex();
    ChunkEntry chunk = index < file.getChunkCount() ? txn.chunk(chain.id(), index) : null;
    if (chunk == null || chunk.getChunkId() != r.getChunkId()) {
      throw new NamespaceException(CHUNK_MISMATCH, p, p + " has no chunk " + r.getChunkId()
          + " at index " + index);
    }
    if (chunk.getSealed()) {
      if (chunk.getGeneration() == r.getGeneration()
          && chunk.getLengthBytes() == r.getLengthBytes()) {
        // A retried commit of the same result.
        return new NamespaceReply.Chunk(new ChunkInfo(chain.id(), index, chunk.getChunkId(),
            chunk.getGeneration(), chunk.getLengthBytes(), true));
      }
      throw new NamespaceException(CHUNK_MISMATCH, p, "chunk " + index + " of " + p
          + " is already committed with generation " + chunk.getGeneration() + " and length "
          + chunk.getLengthBytes());
    }
    return new NamespaceReply.Chunk(commitOpenChunk(chain, file, chunk, index, r.getGeneration(),
        r.getLengthBytes()));
  }

  /**
   * Commits the file's uncommitted chunk {@code index} with its final generation and length,
   * which the caller checked against the chunk size: the file grows by the length and its
   * quota charge shrinks from a whole chunk to the length.
   */
  private ChunkInfo commitOpenChunk(Chain chain, Inode file, ChunkEntry chunk, int index,
      long generation, long lengthBytes) throws NamespaceException {
    String p = chain.path();
    if (generation < chunk.getGeneration()) {
      throw new NamespaceException(CHUNK_MISMATCH, p, "generation " + generation
          + " of chunk " + index + " of " + p + " is older than " + chunk.getGeneration());
    }
    txn.putChunk(chain.id(), index, chunk.toBuilder()
        .setGeneration(generation)
        .setLengthBytes(lengthBytes)
        .setSealed(true)
        .build());
    tree.update(chain.id(), b -> b
        .setLengthBytes(b.getLengthBytes() + lengthBytes)
        .setLastChunkOpen(false)
        .setMtimeMs(timeMs));
    long replication = file.getReplication();
    tree.adjustCounts(chain, 0, chain.found - 1, new Delta(0, 0, lengthBytes,
        replication * (lengthBytes - file.getChunkSizeBytes())));
    return new ChunkInfo(chain.id(), index, chunk.getChunkId(), generation, lengthBytes, true);
  }

  private NamespaceReply close(CloseFile r) throws NamespaceException {
    checkPrincipal("client", r.getClientName(), "");
    if (r.hasCommitLast()) {
      commitFirst(r.getCommitLast(), r.getFileId(), r.getClientName());
    }
    Chain chain = tree.locate(r.getFileId());
    String p = chain.path();
    Inode file = checkWriter(chain, r.getClientName());
    if (file.getLastChunkOpen()) {
      throw new NamespaceException(CHUNK_NOT_COMMITTED, p, "cannot close " + p + ": chunk "
          + (file.getChunkCount() - 1) + " is not committed");
    }
    txn.deleteLease(r.getClientName(), chain.id());
    Inode closed = tree.update(chain.id(), b -> b
        .setState(FileState.FILE_STATE_CLOSED)
        .clearLeaseHolder()
        .clearLeaseExpiryMs()
        .setMtimeMs(timeMs));
    return new NamespaceReply.Status(statusOf(p, chain.id(), closed));
  }

  // ------------------------------------------------------------------ leases

  private NamespaceReply renewLease(RenewLease r) throws NamespaceException {
    String client = r.getClientName();
    checkPrincipal("client", client, "");
    int[] renewed = {0};
    int[] expired = {0};
    txn.scan(Column.LEASES, Keys.leasePrefix(client), Keys.leaseUpperBound(client), (k, v) -> {
      long fileId = Keys.leaseFileId(k);
      Inode file = tree.existing(fileId);
      if (expired(file)) {
        expired[0]++;
      } else {
        tree.update(fileId, b -> b.setLeaseExpiryMs(
            Math.max(b.getLeaseExpiryMs(), r.getLeaseExpiryMs())));
        renewed[0]++;
      }
      return true;
    });
    return new NamespaceReply.LeasesRenewed(renewed[0], expired[0]);
  }

  private NamespaceReply recoverLease(RecoverLease r) throws NamespaceException {
    NamespacePath path = NamespacePath.parse(r.getPath());
    String p = path.toString();
    checkPrincipal("client", r.getClientName(), p);
    Chain chain = tree.require(path);
    Inode file = chain.inode();
    if (isDirectory(file)) {
      throw new NamespaceException(IS_A_DIRECTORY, p, p + " is a directory");
    }
    if (!isOpen(file)) {
      return new NamespaceReply.Status(statusOf(p, chain.id(), file));
    }
    if (!file.getLeaseHolder().equals(r.getClientName()) && !expired(file)) {
      throw leaseHeld(p, file);
    }
    if (file.getLastChunkOpen()) {
      int last = file.getChunkCount() - 1;
      switch (r.getLastChunkCase()) {
        case DROP_LAST_CHUNK -> { } // recover() drops it
        case COMMIT_LAST_CHUNK -> {
          RecoveredChunk c = r.getCommitLastChunk();
          ChunkEntry chunk = txn.chunk(chain.id(), last);
          if (c.getChunkIndex() != last || chunk.getChunkId() != c.getChunkId()) {
            throw new NamespaceException(CHUNK_MISMATCH, p, "the uncommitted last chunk of " + p
                + " is chunk " + chunk.getChunkId() + " at index " + last + ", not chunk "
                + c.getChunkId() + " at index " + c.getChunkIndex());
          }
          if (c.getLengthBytes() < 0 || c.getLengthBytes() > file.getChunkSizeBytes()) {
            throw new NamespaceException(INVALID_ARGUMENT, p, "recovered length "
                + c.getLengthBytes() + " of chunk " + last + " of " + p + " is outside 0.."
                + file.getChunkSizeBytes() + " bytes");
          }
          commitOpenChunk(chain, file, chunk, last, c.getGeneration(), c.getLengthBytes());
        }
        case LASTCHUNK_NOT_SET -> throw new NamespaceException(CHUNK_NOT_COMMITTED, p,
            "cannot recover " + p + " without a decision on its uncommitted chunk " + last
                + ": its replicas must be asked how much they synced");
      }
    }
    Inode closed = recover(chain);
    return new NamespaceReply.Status(statusOf(p, chain.id(), closed));
  }

  /**
   * Closes the open file at the end of {@code chain} at its committed length: an uncommitted
   * last chunk is dropped and becomes garbage, and the lease is freed.
   */
  private Inode recover(Chain chain) {
    long id = chain.id();
    Inode file = tree.existing(id);
    if (file.getLastChunkOpen()) {
      int last = file.getChunkCount() - 1;
      ChunkEntry chunk = txn.chunk(id, last);
      txn.deleteChunk(id, last, chunk.getChunkId());
      txn.putGarbage(chunk.getChunkId(), garbageOf(id, chunk));
      tree.adjustCounts(chain, 0, chain.found - 1, new Delta(0, 0, 0,
          -(long) file.getReplication() * file.getChunkSizeBytes()));
    }
    txn.deleteLease(file.getLeaseHolder(), id);
    return tree.update(id, b -> {
      if (b.getLastChunkOpen()) {
        b.setChunkCount(b.getChunkCount() - 1).setLastChunkOpen(false);
      }
      b.setState(FileState.FILE_STATE_CLOSED).clearLeaseHolder().clearLeaseExpiryMs()
          .setMtimeMs(timeMs);
    });
  }

  // ------------------------------------------------------------------ rename and delete

  private NamespaceReply rename(Rename r) throws NamespaceException {
    NamespacePath src = NamespacePath.parse(r.getSourcePath());
    NamespacePath dst = NamespacePath.parse(r.getDestinationPath());
    if (src.isRoot() || dst.isRoot()) {
      throw new NamespaceException(ROOT_NOT_ALLOWED, src.toString(),
          "cannot rename " + src + " to " + dst + ": the root cannot be renamed or replaced");
    }
    Chain from = tree.require(src);
    Inode moved = from.inode();
    if (isDirectory(moved) && src.isStrictAncestorOf(dst)) {
      throw new NamespaceException(RENAME_INTO_OWN_SUBTREE, src.toString(),
          "cannot rename directory " + src + " into its own subtree at " + dst);
    }
    Chain to = tree.resolve(dst);
    if (to.found < dst.depth()) {
      throw new NamespaceException(NOT_FOUND, dst.toString(), "cannot rename " + src + " to "
          + dst + ": directory " + dst.prefix(to.found) + " does not exist");
    }
    if (to.complete()) {
      throw new NamespaceException(ALREADY_EXISTS, dst.toString(), "cannot rename " + src
          + " to " + dst + ": " + dst + " already exists");
    }
    int srcDepth = src.depth();
    int dstDepth = dst.depth();
    int common = 0;
    while (common < srcDepth && common < dstDepth && from.ids[common] == to.ids[common]) {
      common++;
    }
    Delta delta = deltaOf(moved);
    NamespaceTree.checkQuotas(to, common, dstDepth, delta, dst.toString());

    long id = from.id();
    long srcParent = from.ids[srcDepth - 1];
    long dstParent = to.ids[dstDepth - 1];
    txn.deleteDentry(srcParent, src.name());
    txn.putDentry(dstParent, dst.name(), id);
    Inode renamed = tree.update(id, b -> b.setParentId(dstParent).setName(dst.name()));
    tree.adjustCounts(from, common, srcDepth, delta.negate());
    tree.adjustCounts(to, common, dstDepth, delta);
    tree.update(srcParent, b -> b.setMtimeMs(timeMs));
    tree.update(dstParent, b -> b.setMtimeMs(timeMs));
    return new NamespaceReply.Status(statusOf(dst.toString(), id, renamed));
  }

  private NamespaceReply delete(Delete r) throws NamespaceException {
    NamespacePath path = NamespacePath.parse(r.getPath());
    String p = path.toString();
    if (path.isRoot()) {
      throw new NamespaceException(ROOT_NOT_ALLOWED, p, "the root cannot be deleted");
    }
    Chain chain = tree.require(path);
    Inode target = chain.inode();
    if (isDirectory(target) && !r.getRecursive() && !isEmptyDirectory(target)) {
      DirectoryCounts c = target.getCounts();
      throw new NamespaceException(DIRECTORY_NOT_EMPTY, p, p + " is not empty (" + c.getFiles()
          + " files, " + (c.getDirectories() - 1) + " directories below it)");
    }
    int depth = path.depth();
    txn.deleteDentry(chain.ids[depth - 1], path.name());
    tree.adjustCounts(chain, 0, depth, deltaOf(target).negate());
    tree.update(chain.ids[depth - 1], b -> b.setMtimeMs(timeMs));
    return freeOrDetach(chain.id(), target);
  }

  /**
   * Frees an inode that no longer has a directory entry. A file with few chunks or an empty
   * directory goes at once; anything bigger is detached (parent 0) and queued for reclaim, so
   * this costs the same whatever the subtree holds.
   */
  private NamespaceReply.Deleted freeOrDetach(long id, Inode inode) {
    if (!isDirectory(inode) && inode.getChunkCount() <= NamespaceLimits.MAX_INLINE_DELETE_CHUNKS) {
      int chunks = freeFile(id, inode, Integer.MAX_VALUE);
      txn.deleteInode(id);
      return new NamespaceReply.Deleted(false, chunks);
    }
    if (isDirectory(inode) && isEmptyDirectory(inode)) {
      txn.deleteInode(id);
      return new NamespaceReply.Deleted(false, 0);
    }
    if (!isDirectory(inode) && isOpen(inode)) {
      txn.deleteLease(inode.getLeaseHolder(), id);
    }
    Inode.Builder detached = inode.toBuilder().setParentId(0);
    if (!isDirectory(inode)) {
      detached.setState(FileState.FILE_STATE_CLOSED).clearLeaseHolder().clearLeaseExpiryMs();
    }
    txn.putInode(id, detached.build());
    txn.enqueueReclaim(id);
    return new NamespaceReply.Deleted(true, 0);
  }

  /**
   * Turns up to {@code budget} chunks of a file, from the lowest index, into garbage and drops
   * its lease; returns how many chunks it freed. The caller deletes the inode once none remain.
   */
  private int freeFile(long id, Inode file, int budget) {
    if (isOpen(file)) {
      txn.deleteLease(file.getLeaseHolder(), id);
    }
    if (file.getChunkCount() == 0) {
      // Chunks are only ever added below the count, so there is nothing to look for; an empty
      // file's delete is the common small-file case and a scan opens a RocksDB iterator.
      return 0;
    }
    int[] freed = {0};
    txn.scan(Column.CHUNKS, Keys.chunk(id, 0), Keys.id(id + 1), (k, v) -> {
      if (freed[0] >= budget) {
        return false;
      }
      ChunkEntry chunk = NamespaceTxn.parse(ChunkEntry.parser(), v, "chunk");
      txn.deleteChunk(id, Keys.chunkIndex(k), chunk.getChunkId());
      txn.putGarbage(chunk.getChunkId(), garbageOf(id, chunk));
      freed[0]++;
      return true;
    });
    return freed[0];
  }

  private NamespaceReply reclaim(ReclaimDeleted r) throws NamespaceException {
    int max = r.getMaxUnits();
    if (max < 1 || max > NamespaceLimits.MAX_RECLAIM_UNITS_PER_RECORD) {
      throw new NamespaceException(INVALID_ARGUMENT, "", "reclaim batch of " + max
          + " is outside 1.." + NamespaceLimits.MAX_RECLAIM_UNITS_PER_RECORD);
    }
    Reclaim work = new Reclaim(max);
    // Children queued during a pass are not seen by that pass's scan; pass again while budget
    // remains. Every pass over a non-empty queue frees or dequeues something, so this ends.
    while (work.budget > 0 && !reclaimQueueEmpty()) {
      txn.scan(Column.RECLAIM, Keys.id(0), null,
          (key, value) -> work.reclaimRoot(Keys.readId(key, 0)));
    }
    return new NamespaceReply.Reclaimed(work.inodesFreed, work.garbageChunks, reclaimQueueEmpty());
  }

  private boolean reclaimQueueEmpty() {
    boolean[] empty = {true};
    txn.scan(Column.RECLAIM, Keys.id(0), null, (key, value) -> {
      empty[0] = false;
      return false;
    });
    return empty[0];
  }

  /**
   * One reclaim record's walk: each queued root in id order, each unit of budget one inode or one
   * chunk freed or one child queued. A directory's children are unlinked and queued (or freed in
   * place when a small file), so no cursor is kept between records: the queue is the cursor.
   */
  private final class Reclaim {
    int budget;
    int inodesFreed;
    int garbageChunks;

    Reclaim(int budget) {
      this.budget = budget;
    }

    /** Returns false once the budget is spent. */
    boolean reclaimRoot(long id) {
      Inode inode = txn.inode(id);
      if (inode == null) {
        txn.dequeueReclaim(id);
        return true;
      }
      if (!isDirectory(inode)) {
        int freed = freeFile(id, inode, budget);
        budget -= freed;
        garbageChunks += freed;
        if (budget <= 0) {
          return false;
        }
        txn.deleteInode(id);
        txn.dequeueReclaim(id);
        inodesFreed++;
        budget--;
        return budget > 0;
      }
      boolean[] more = {false};
      txn.scan(Column.DENTRIES, Keys.id(id), Keys.dentryUpperBound(id), (k, v) -> {
        if (budget <= 0) {
          more[0] = true;
          return false;
        }
        long childId = Keys.readId(v, 0);
        Inode child = tree.existing(childId);
        txn.deleteDentry(id, Keys.dentryName(k));
        if (!isDirectory(child) && child.getChunkCount() < budget) {
          int freed = freeFile(childId, child, budget);
          txn.deleteInode(childId);
          budget -= freed + 1;
          garbageChunks += freed;
          inodesFreed++;
        } else {
          txn.enqueueReclaim(childId);
          budget--;
        }
        return true;
      });
      if (more[0] || budget <= 0) {
        return false;
      }
      txn.deleteInode(id);
      txn.dequeueReclaim(id);
      inodesFreed++;
      budget--;
      return budget > 0;
    }
  }

  private NamespaceReply forgetGarbage(ForgetGarbageChunks r) throws NamespaceException {
    if (r.getChunkIdsCount() > NamespaceLimits.MAX_FORGET_CHUNKS_PER_RECORD) {
      throw new NamespaceException(INVALID_ARGUMENT, "", r.getChunkIdsCount()
          + " chunk ids are more than the limit of "
          + NamespaceLimits.MAX_FORGET_CHUNKS_PER_RECORD + " per record");
    }
    int forgotten = 0;
    for (long chunkId : r.getChunkIdsList()) {
      if (txn.isGarbage(chunkId)) {
        txn.deleteGarbage(chunkId);
        forgotten++;
      }
    }
    return new NamespaceReply.GarbageForgotten(forgotten);
  }

  // ------------------------------------------------------------------ attributes

  private NamespaceReply setTimes(SetTimes r) throws NamespaceException {
    NamespacePath path = NamespacePath.parse(r.getPath());
    if (r.getMtimeMs() < -1 || r.getAtimeMs() < -1) {
      throw new NamespaceException(INVALID_ARGUMENT, path.toString(), "times of " + path
          + " must be -1 (unchanged) or at least 0");
    }
    Chain chain = tree.require(path);
    Inode updated = tree.update(chain.id(), b -> {
      if (r.getMtimeMs() >= 0) {
        b.setMtimeMs(r.getMtimeMs());
      }
      if (r.getAtimeMs() >= 0) {
        b.setAtimeMs(r.getAtimeMs());
      }
    });
    return new NamespaceReply.Status(statusOf(path.toString(), chain.id(), updated));
  }

  private NamespaceReply setPermission(SetPermission r) throws NamespaceException {
    NamespacePath path = NamespacePath.parse(r.getPath());
    checkMode(r.getMode(), path);
    Chain chain = tree.require(path);
    Inode updated = tree.update(chain.id(), b -> b.setMode(r.getMode()));
    return new NamespaceReply.Status(statusOf(path.toString(), chain.id(), updated));
  }

  private NamespaceReply setOwner(SetOwner r) throws NamespaceException {
    NamespacePath path = NamespacePath.parse(r.getPath());
    String p = path.toString();
    if (r.getOwner().isEmpty() && r.getGroup().isEmpty()) {
      throw new NamespaceException(INVALID_ARGUMENT, p, "setOwner of " + p
          + " needs an owner or a group");
    }
    if (!r.getOwner().isEmpty()) {
      checkPrincipal("owner", r.getOwner(), p);
    }
    if (!r.getGroup().isEmpty()) {
      checkPrincipal("group", r.getGroup(), p);
    }
    Chain chain = tree.require(path);
    Inode updated = tree.update(chain.id(), b -> {
      if (!r.getOwner().isEmpty()) {
        b.setOwner(r.getOwner());
      }
      if (!r.getGroup().isEmpty()) {
        b.setGroup(r.getGroup());
      }
    });
    return new NamespaceReply.Status(statusOf(p, chain.id(), updated));
  }

  private NamespaceReply setQuota(SetQuota r) throws NamespaceException {
    NamespacePath path = NamespacePath.parse(r.getPath());
    String p = path.toString();
    // A name quota counts the directory itself, so 0 could never be met.
    if (r.getNameQuota() != FileStatus.NO_QUOTA && r.getNameQuota() < 1) {
      throw new NamespaceException(INVALID_ARGUMENT, p, "name quota " + r.getNameQuota()
          + " of " + p + " must be -1 (none) or at least 1");
    }
    if (r.getSpaceQuotaBytes() != FileStatus.NO_QUOTA && r.getSpaceQuotaBytes() < 0) {
      throw new NamespaceException(INVALID_ARGUMENT, p, "space quota " + r.getSpaceQuotaBytes()
          + " of " + p + " must be -1 (none) or at least 0");
    }
    Chain chain = tree.require(path);
    if (!isDirectory(chain.inode())) {
      throw new NamespaceException(NOT_A_DIRECTORY, p, "cannot set a quota on file " + p);
    }
    Inode updated = tree.update(chain.id(), b -> {
      if (r.getNameQuota() == FileStatus.NO_QUOTA) {
        b.clearNameQuota();
      } else {
        b.setNameQuota(r.getNameQuota());
      }
      if (r.getSpaceQuotaBytes() == FileStatus.NO_QUOTA) {
        b.clearSpaceQuotaBytes();
      } else {
        b.setSpaceQuotaBytes(r.getSpaceQuotaBytes());
      }
    });
    return new NamespaceReply.Status(statusOf(p, chain.id(), updated));
  }

  // ------------------------------------------------------------------ shared checks

  private boolean expired(Inode file) {
    return timeMs >= file.getLeaseExpiryMs();
  }

  private static boolean isEmptyDirectory(Inode dir) {
    DirectoryCounts c = dir.getCounts();
    return c.getFiles() == 0 && c.getDirectories() == 1;
  }

  private static NamespaceException leaseHeld(String path, Inode file) {
    return new NamespaceException(LEASE_HELD_BY_OTHER, path, path + " is being written by client '"
        + file.getLeaseHolder() + "' whose lease expires at "
        + describeExpiry(file.getLeaseExpiryMs()));
  }

  /** The file at the end of {@code chain}, if {@code client} holds its live lease. */
  private Inode checkWriter(Chain chain, String client) throws NamespaceException {
    Inode file = chain.inode();
    String p = chain.path();
    if (isDirectory(file)) {
      throw new NamespaceException(IS_A_DIRECTORY, p, p + " is a directory");
    }
    if (!isOpen(file)) {
      throw new NamespaceException(NOT_LEASE_HOLDER, p, p + " is not open for writing");
    }
    if (!file.getLeaseHolder().equals(client)) {
      throw new NamespaceException(NOT_LEASE_HOLDER, p, "client '" + client
          + "' does not hold the lease on " + p + "; client '" + file.getLeaseHolder()
          + "' does until " + describeExpiry(file.getLeaseExpiryMs()));
    }
    if (expired(file)) {
      throw new NamespaceException(LEASE_EXPIRED, p, "the lease of client '" + client + "' on "
          + p + " expired at " + describeExpiry(file.getLeaseExpiryMs()));
    }
    return file;
  }

  private void checkOpenFileLimit(String client, int alreadyHeld, String path)
      throws NamespaceException {
    int limit = NamespaceLimits.MAX_OPEN_FILES_PER_CLIENT;
    if (txn.leaseCount(client) - alreadyHeld >= limit) {
      throw new NamespaceException(TOO_MANY_OPEN_FILES, path, "client '" + client
          + "' already holds the maximum of " + limit + " leases");
    }
  }


  private static void checkMode(int mode, NamespacePath path) throws NamespaceException {
    if (mode < 0 || mode > NamespaceLimits.MAX_MODE) {
      throw new NamespaceException(INVALID_ARGUMENT, path.toString(), "mode 0"
          + Integer.toOctalString(mode) + " of " + path + " is outside 0..07777");
    }
  }

  /** Refuses ids below the counter and advances the counter past the reserved range. */
  private void reserveInodeIds(long first, int count, NamespacePath path)
      throws NamespaceException {
    NamespaceMeta meta = txn.meta();
    if (first < meta.getNextInodeId()) {
      throw new NamespaceException(ID_CONFLICT, path.toString(), "inode id " + first
          + " was already used (next free is " + meta.getNextInodeId() + ")");
    }
    txn.setMeta(meta.toBuilder().setNextInodeId(first + Math.max(count, 1)).build());
  }

  private static GarbageChunk garbageOf(long fileId, ChunkEntry chunk) {
    return GarbageChunk.newBuilder()
        .setFileId(fileId)
        .setGeneration(chunk.getGeneration())
        .setLengthBytes(chunk.getLengthBytes())
        .build();
  }
}
