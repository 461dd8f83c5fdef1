package org.apsara.pangu.master.namespace;

/**
 * The limits the namespace enforces when it applies a record. They are part of the replicated
 * format, not configuration: every replica must judge a record the same way, so changing one of
 * them means a new {@link #FORMAT_VERSION}. Limits that only the leader uses (lease length, batch
 * sizes it proposes) live in {@link ProposerConfig}.
 */
public final class NamespaceLimits {
  /**
   * Version of the stored layout and of these limits; kept in the meta record. Version 2 added
   * the {@code chunk_owners} index and the last-chunk choice of {@code RecoverLease} records.
   */
  public static final int FORMAT_VERSION = 2;

  /** Longest path, in UTF-8 bytes (as HDFS and Linux' PATH_MAX). */
  public static final int MAX_PATH_BYTES = 4096;
  /** Longest path component, in UTF-8 bytes (as HDFS and Linux' NAME_MAX). */
  public static final int MAX_COMPONENT_BYTES = 255;
  /**
   * Most components in a path. Every change rewrites the counters of all ancestors, so depth
   * bounds the size of every record's WriteBatch.
   */
  public static final int MAX_PATH_DEPTH = 256;
  /** Longest client, owner or group name, in UTF-8 bytes. */
  public static final int MAX_PRINCIPAL_NAME_BYTES = 255;

  /** Most leases (open files) one client holds; also bounds the work of one lease renewal. */
  public static final int MAX_OPEN_FILES_PER_CLIENT = 4096;
  /** Most chunks in one file (64 TiB at 64 MiB chunks). */
  public static final int MAX_CHUNKS_PER_FILE = 1 << 20;
  /** Highest replication factor of a file. */
  public static final int MAX_REPLICATION = 16;
  /** Smallest chunk size a file may declare. */
  public static final long MIN_CHUNK_SIZE_BYTES = 4096;
  /** Largest chunk size a file may declare. */
  public static final long MAX_CHUNK_SIZE_BYTES = 1L << 30;
  /** Highest permission value: rwx for user, group, other plus setuid, setgid, sticky. */
  public static final int MAX_MODE = 07777;

  /**
   * A deleted file with at most this many chunks is freed by the delete record itself; a larger
   * file, like a non-empty directory, is detached and freed by {@code ReclaimDeleted} records.
   */
  public static final int MAX_INLINE_DELETE_CHUNKS = 1024;
  /** Most inodes plus chunks one {@code ReclaimDeleted} record frees. */
  public static final int MAX_RECLAIM_UNITS_PER_RECORD = 10_000;
  /** Most chunk ids in one {@code ForgetGarbageChunks} record. */
  public static final int MAX_FORGET_CHUNKS_PER_RECORD = 10_000;

  /** Most entries one directory listing returns. */
  public static final int MAX_LIST_ENTRIES = 1000;
  /** Most entries one read of chunks, garbage or open files returns. */
  public static final int MAX_READ_ENTRIES = 10_000;

  private NamespaceLimits() {}
}
