package org.apsara.pangu.master.namespace;

import java.time.Clock;
import java.util.List;
import org.apsara.pangu.master.namespace.proto.AddChunk;
import org.apsara.pangu.master.namespace.proto.AppendFile;
import org.apsara.pangu.master.namespace.proto.CloseFile;
import org.apsara.pangu.master.namespace.proto.CommitChunk;
import org.apsara.pangu.master.namespace.proto.CreateFile;
import org.apsara.pangu.master.namespace.proto.Delete;
import org.apsara.pangu.master.namespace.proto.ForgetGarbageChunks;
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
 * The leader's half of the state machine: turns a client command into a {@link NamespaceRecord}
 * to append to the log, or refuses it with the {@link NamespaceException} its apply would give.
 *
 * <p>Each method stamps what must be chosen once into the record: the time (from the injected
 * {@link Clock}, never earlier than any record already applied or proposed), new inode and chunk
 * ids (from counters that run ahead of the applied state by what is in flight), and lease
 * expiries. It then dry-runs the record against the applied state, so a command that would be
 * refused never enters the log. A record that passes may still be refused when it applies, if a
 * record proposed before it changed the state; the apply judges it again.
 *
 * <p>Threading: not thread-safe; call from one thread in log order (Ratis' startTransaction on
 * the leader). A new leader must create its proposer only after it has applied every record of
 * earlier terms, so its id counters start past every id already stamped.
 */
public final class NamespaceProposer {
  private final Namespace namespace;
  private final Clock clock;
  private final ProposerConfig config;
  private final boolean dryRun;
  private long nextInodeId;
  private long nextChunkId;
  private long lastTimeMs;

  public NamespaceProposer(Namespace namespace, Clock clock, ProposerConfig config) {
    this(namespace, clock, config, true);
  }

  /**
   * With {@code dryRun} false the proposer builds records without judging them: tests use it to
   * put records into the log that the apply must refuse, as a record proposed concurrently with
   * a conflicting one would be.
   */
  NamespaceProposer(Namespace namespace, Clock clock, ProposerConfig config, boolean dryRun) {
    this.namespace = namespace;
    this.clock = clock;
    this.config = config;
    this.dryRun = dryRun;
  }

  /** Creates the directory {@code path} and its missing ancestors (a no-op if it exists). */
  public NamespaceRecord mkdirs(String path, int mode, String owner, String group)
      throws NamespaceException {
    NamespaceMeta meta = namespace.meta();
    long first = Math.max(nextInodeId, meta.getNextInodeId());
    NamespaceRecord record = stamp(meta).setMkdirs(Mkdirs.newBuilder()
        .setPath(path)
        .setMode(mode)
        .setOwner(owner)
        .setGroup(group)
        .setFirstInodeId(first)).build();
    check(record);
    // One id per component, whatever exists now: the state may change before the record applies.
    nextInodeId = first + Math.max(1, componentCount(path));
    return record;
  }

  /**
   * Creates a file open for writing under {@code clientName}'s lease; with {@code overwrite}
   * it replaces an existing file no other client holds a live lease on. The parent must exist.
   */
  public NamespaceRecord create(
      String path,
      String clientName,
      boolean overwrite,
      int replication,
      long chunkSizeBytes,
      int mode,
      String owner,
      String group)
      throws NamespaceException {
    NamespaceMeta meta = namespace.meta();
    long id = Math.max(nextInodeId, meta.getNextInodeId());
    NamespaceRecord.Builder builder = stamp(meta);
    NamespaceRecord record = builder.setCreateFile(CreateFile.newBuilder()
        .setPath(path)
        .setClientName(clientName)
        .setOverwrite(overwrite)
        .setReplication(replication)
        .setChunkSizeBytes(chunkSizeBytes)
        .setMode(mode)
        .setOwner(owner)
        .setGroup(group)
        .setInodeId(id)
        .setLeaseExpiryMs(leaseExpiry(builder.getTimeMs()))).build();
    check(record);
    nextInodeId = id + 1;
    return record;
  }

  /** Reopens the closed file {@code path} for {@code clientName}, the single writer. */
  public NamespaceRecord append(String path, String clientName) throws NamespaceException {
    NamespaceRecord.Builder builder = stamp(namespace.meta());
    return checked(builder.setAppendFile(AppendFile.newBuilder()
        .setPath(path)
        .setClientName(clientName)
        .setLeaseExpiryMs(leaseExpiry(builder.getTimeMs()))).build());
  }

  /** Allocates the next chunk of the open file {@code fileId} with a new chunk id. */
  public NamespaceRecord addChunk(long fileId, String clientName) throws NamespaceException {
    return addChunk(fileId, clientName, null);
  }

  /**
   * As {@link #addChunk(long, String)}, committing the file's last chunk first in the same
   * record when {@code commitPrevious} is not null (its chunk index, id, generation and length;
   * its file and client are this call's).
   */
  public NamespaceRecord addChunk(long fileId, String clientName, CommitChunk commitPrevious)
      throws NamespaceException {
    NamespaceMeta meta = namespace.meta();
    long chunkId = Math.max(nextChunkId, meta.getNextChunkId());
    AddChunk.Builder add = AddChunk.newBuilder()
        .setFileId(fileId)
        .setClientName(clientName)
        .setChunkId(chunkId);
    if (commitPrevious != null) {
      add.setCommitPrevious(commitPrevious.toBuilder().setFileId(fileId)
          .setClientName(clientName));
    }
    NamespaceRecord record = stamp(meta).setAddChunk(add).build();
    check(record);
    nextChunkId = chunkId + 1;
    return record;
  }

  /** Seals the file's uncommitted chunk with its final generation and length. */
  public NamespaceRecord commitChunk(
      long fileId, String clientName, int chunkIndex, long chunkId, long generation,
      long lengthBytes)
      throws NamespaceException {
    return checked(stamp(namespace.meta()).setCommitChunk(CommitChunk.newBuilder()
        .setFileId(fileId)
        .setClientName(clientName)
        .setChunkIndex(chunkIndex)
        .setChunkId(chunkId)
        .setGeneration(generation)
        .setLengthBytes(lengthBytes)).build());
  }

  /** Extends every live lease of {@code clientName} by the configured lease duration. */
  public NamespaceRecord renewLease(String clientName) throws NamespaceException {
    NamespaceRecord.Builder builder = stamp(namespace.meta());
    return checked(builder.setRenewLease(RenewLease.newBuilder()
        .setClientName(clientName)
        .setLeaseExpiryMs(leaseExpiry(builder.getTimeMs()))).build());
  }

  /** Closes the file {@code fileId}; every chunk must be committed. */
  public NamespaceRecord close(long fileId, String clientName) throws NamespaceException {
    return close(fileId, clientName, null);
  }

  /**
   * As {@link #close(long, String)}, committing the file's last chunk first in the same record
   * when {@code commitLast} is not null (as for {@link #addChunk(long, String, CommitChunk)}).
   */
  public NamespaceRecord close(long fileId, String clientName, CommitChunk commitLast)
      throws NamespaceException {
    CloseFile.Builder close = CloseFile.newBuilder()
        .setFileId(fileId)
        .setClientName(clientName);
    if (commitLast != null) {
      close.setCommitLast(commitLast.toBuilder().setFileId(fileId).setClientName(clientName));
    }
    return checked(stamp(namespace.meta()).setCloseFile(close).build());
  }

  /**
   * Closes {@code path} if its lease has expired (or {@code clientName} holds it) and every chunk
   * is committed; a closed file is left as it is. A file whose last chunk is uncommitted is
   * refused with {@link NamespaceErrorCode#CHUNK_NOT_COMMITTED}: use one of the other two forms.
   */
  public NamespaceRecord recoverLease(String path, String clientName) throws NamespaceException {
    return checked(stamp(namespace.meta()).setRecoverLease(RecoverLease.newBuilder()
        .setPath(path)
        .setClientName(clientName)).build());
  }

  /**
   * As {@link #recoverLease(String, String)}, dropping an uncommitted last chunk (it becomes
   * garbage). Only for a chunk no replica was ever placed for, or whose replicas hold no synced
   * byte: anything else loses data a writer was told is durable.
   */
  public NamespaceRecord recoverLeaseDroppingLastChunk(String path, String clientName)
      throws NamespaceException {
    return checked(stamp(namespace.meta()).setRecoverLease(RecoverLease.newBuilder()
        .setPath(path)
        .setClientName(clientName)
        .setDropLastChunk(true)).build());
  }

  /**
   * As {@link #recoverLease(String, String)}, committing the uncommitted last chunk with the
   * generation and length its replicas were recovered to, in the record that closes the file.
   */
  public NamespaceRecord recoverLeaseCommittingLastChunk(String path, String clientName,
      int chunkIndex, long chunkId, long generation, long lengthBytes) throws NamespaceException {
    return checked(stamp(namespace.meta()).setRecoverLease(RecoverLease.newBuilder()
        .setPath(path)
        .setClientName(clientName)
        .setCommitLastChunk(RecoveredChunk.newBuilder()
            .setChunkIndex(chunkIndex)
            .setChunkId(chunkId)
            .setGeneration(generation)
            .setLengthBytes(lengthBytes))).build());
  }

  /** Moves {@code source} to {@code destination}, which must not exist, atomically. */
  public NamespaceRecord rename(String source, String destination) throws NamespaceException {
    return checked(stamp(namespace.meta()).setRename(Rename.newBuilder()
        .setSourcePath(source)
        .setDestinationPath(destination)).build());
  }

  /** Removes {@code path}; a non-empty directory only with {@code recursive}. */
  public NamespaceRecord delete(String path, boolean recursive) throws NamespaceException {
    return checked(stamp(namespace.meta()).setDelete(Delete.newBuilder()
        .setPath(path)
        .setRecursive(recursive)).build());
  }

  /**
   * Frees the next batch of deleted inodes and chunks; the leader proposes it while
   * {@link Namespace#reclaimPending()}.
   */
  public NamespaceRecord reclaimDeleted() throws NamespaceException {
    return checked(stamp(namespace.meta()).setReclaimDeleted(ReclaimDeleted.newBuilder()
        .setMaxUnits(config.reclaimUnitsPerRecord())).build());
  }

  /**
   * Forgets garbage chunks whose replicas are gone, at most
   * {@link NamespaceLimits#MAX_FORGET_CHUNKS_PER_RECORD} per record.
   */
  public NamespaceRecord forgetGarbageChunks(List<Long> chunkIds) throws NamespaceException {
    return checked(stamp(namespace.meta()).setForgetGarbageChunks(ForgetGarbageChunks.newBuilder()
        .addAllChunkIds(chunkIds)).build());
  }

  /** Sets the times of {@code path}; -1 leaves one unchanged. */
  public NamespaceRecord setTimes(String path, long mtimeMs, long atimeMs)
      throws NamespaceException {
    return checked(stamp(namespace.meta()).setSetTimes(SetTimes.newBuilder()
        .setPath(path)
        .setMtimeMs(mtimeMs)
        .setAtimeMs(atimeMs)).build());
  }

  public NamespaceRecord setPermission(String path, int mode) throws NamespaceException {
    return checked(stamp(namespace.meta()).setSetPermission(SetPermission.newBuilder()
        .setPath(path)
        .setMode(mode)).build());
  }

  /** Sets the owner and/or group of {@code path}; an empty one is left unchanged. */
  public NamespaceRecord setOwner(String path, String owner, String group)
      throws NamespaceException {
    return checked(stamp(namespace.meta()).setSetOwner(SetOwner.newBuilder()
        .setPath(path)
        .setOwner(owner)
        .setGroup(group)).build());
  }

  /** Sets the quotas of directory {@code path}; -1 ({@link FileStatus#NO_QUOTA}) removes one. */
  public NamespaceRecord setQuota(String path, long nameQuota, long spaceQuotaBytes)
      throws NamespaceException {
    return checked(stamp(namespace.meta()).setSetQuota(SetQuota.newBuilder()
        .setPath(path)
        .setNameQuota(nameQuota)
        .setSpaceQuotaBytes(spaceQuotaBytes)).build());
  }

  // ------------------------------------------------------------------ internals

  /**
   * A record builder with its time: the clock's reading, but never before a time already
   * applied or proposed, so record times never go backwards in the log even if leaders' clocks
   * disagree.
   */
  private NamespaceRecord.Builder stamp(NamespaceMeta meta) {
    long now = Math.max(clock.millis(), Math.max(meta.getLastRecordTimeMs(), lastTimeMs));
    lastTimeMs = now;
    return NamespaceRecord.newBuilder().setTimeMs(now);
  }

  private long leaseExpiry(long timeMs) {
    return timeMs + config.leaseDuration().toMillis();
  }

  private NamespaceRecord checked(NamespaceRecord record) throws NamespaceException {
    check(record);
    return record;
  }

  private void check(NamespaceRecord record) throws NamespaceException {
    if (dryRun) {
      namespace.dryRun(record);
    }
  }

  /** Components of a path, counted without validating it (the dry run has done that). */
  private static int componentCount(String path) {
    int count = 0;
    for (int i = 0; i < path.length(); i++) {
      if (path.charAt(i) == '/' && i + 1 < path.length()) {
        count++;
      }
    }
    return count;
  }
}
