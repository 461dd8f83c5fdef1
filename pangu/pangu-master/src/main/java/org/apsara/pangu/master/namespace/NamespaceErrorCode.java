package org.apsara.pangu.master.namespace;

/**
 * Why the namespace refused a command. Every code means that nothing changed: a refused command
 * (whether refused by the leader before it entered the log or by the apply of its record) leaves
 * the namespace exactly as it was.
 */
public enum NamespaceErrorCode {
  /**
   * Not an absolute, normalized path: empty, "." or ".." components, NUL, a component over
   * {@link NamespaceLimits#MAX_COMPONENT_BYTES}, a path over {@link NamespaceLimits#MAX_PATH_BYTES}
   * or deeper than {@link NamespaceLimits#MAX_PATH_DEPTH}, or not valid Unicode.
   */
  INVALID_PATH,
  /** An argument other than a path is out of range (mode, replication, chunk size, limits...). */
  INVALID_ARGUMENT,
  /** The path (or one of its ancestors, or the file id) does not exist. */
  NOT_FOUND,
  /** The target path already exists. */
  ALREADY_EXISTS,
  /** A component that must be a directory is a file. */
  NOT_A_DIRECTORY,
  /** The operation needs a file and the path is a directory. */
  IS_A_DIRECTORY,
  /** A non-recursive delete of a directory that has children. */
  DIRECTORY_NOT_EMPTY,
  /** Another client holds a live lease on the file; the message names it and the expiry. */
  LEASE_HELD_BY_OTHER,
  /** The caller's lease on the file ran out; the file must be recovered and reopened. */
  LEASE_EXPIRED,
  /** The caller does not hold the file's lease (the file is closed or someone else holds it). */
  NOT_LEASE_HOLDER,
  /** The client already holds {@link NamespaceLimits#MAX_OPEN_FILES_PER_CLIENT} leases. */
  TOO_MANY_OPEN_FILES,
  /** A directory's name quota would be exceeded; the message names it, its limit and usage. */
  NAME_QUOTA_EXCEEDED,
  /** A directory's space quota would be exceeded; the message names it, its limit and usage. */
  SPACE_QUOTA_EXCEEDED,
  /** A directory cannot be renamed into its own subtree. */
  RENAME_INTO_OWN_SUBTREE,
  /** The root cannot be deleted, renamed or renamed onto. */
  ROOT_NOT_ALLOWED,
  /** The file's last chunk is still uncommitted (adding a chunk, closing). */
  CHUNK_NOT_COMMITTED,
  /** The chunk a writer commits is not the file's uncommitted chunk with that index and id. */
  CHUNK_MISMATCH,
  /** The file already has {@link NamespaceLimits#MAX_CHUNKS_PER_FILE} chunks. */
  FILE_TOO_LARGE,
  /**
   * An id the leader stamped into a record was already used when the record applied. This only
   * happens when a new leader proposed before it had applied its predecessor's records; the
   * client may retry.
   */
  ID_CONFLICT
}
