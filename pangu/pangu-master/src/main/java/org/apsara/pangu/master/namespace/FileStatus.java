package org.apsara.pangu.master.namespace;

/**
 * The attributes of one file or directory at one applied index. Immutable.
 *
 * @param path the absolute path
 * @param inodeId the inode id (writers address their open file by it)
 * @param directory true for a directory
 * @param mode permission bits, 0 to {@link NamespaceLimits#MAX_MODE}
 * @param mtimeMs modification time, epoch milliseconds, as stamped by the leader
 * @param atimeMs access time, epoch milliseconds
 * @param lengthBytes files: bytes in committed chunks; directories: 0
 * @param replication files: replica count; directories: 0
 * @param chunkSizeBytes files: the most one chunk holds; directories: 0
 * @param chunkCount files: chunks allocated; directories: 0
 * @param open files: open for writing under {@code leaseHolder}'s lease
 * @param lastChunkOpen files: the last chunk is allocated but not committed
 * @param leaseHolder the client holding the lease of an open file, else empty
 * @param leaseExpiryMs when that lease ends (epoch milliseconds), else 0
 * @param nameQuota directories: the name quota, or -1 for none
 * @param spaceQuotaBytes directories: the space quota, or -1 for none
 * @param usage directories: the exact counters of the subtree; null for files
 */
public record FileStatus(
    String path,
    long inodeId,
    boolean directory,
    int mode,
    String owner,
    String group,
    long mtimeMs,
    long atimeMs,
    long lengthBytes,
    int replication,
    long chunkSizeBytes,
    int chunkCount,
    boolean open,
    boolean lastChunkOpen,
    String leaseHolder,
    long leaseExpiryMs,
    long nameQuota,
    long spaceQuotaBytes,
    ContentSummary usage) {

  /** The value of {@link #nameQuota} and {@link #spaceQuotaBytes} when there is no limit. */
  public static final long NO_QUOTA = -1;

  /** The last component of the path; empty for the root. */
  public String name() {
    int slash = path.lastIndexOf('/');
    return path.substring(slash + 1);
  }
}
