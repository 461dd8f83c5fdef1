package org.apsara.pangu.master.namespace;

/**
 * What a subtree holds (like {@code du}), read from the counters every directory keeps exact:
 * answering costs one inode read, not a walk. For a file it describes the file alone. Immutable.
 *
 * @param files files in the subtree
 * @param directories directories in the subtree, the directory itself included
 * @param lengthBytes committed bytes of its files
 * @param spaceConsumedBytes raw space charged against space quotas: replication times committed
 *     bytes, plus one chunk size (times replication) for each file whose last chunk is still
 *     uncommitted
 * @param nameQuota the directory's name quota, or -1
 * @param spaceQuotaBytes the directory's space quota, or -1
 */
public record ContentSummary(
    long files,
    long directories,
    long lengthBytes,
    long spaceConsumedBytes,
    long nameQuota,
    long spaceQuotaBytes) {

  /** Files plus directories: what a name quota counts. */
  public long names() {
    return files + directories;
  }
}
