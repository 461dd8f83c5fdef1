package org.apsara.pangu.chunkserver.store;

/** The life cycle of a replica on this chunkserver. */
public enum ReplicaState {
  /** Being written: accepts appends; its length may still grow or, when sealed, shrink. */
  OPEN,
  /** Final: read-only at a fixed length. */
  SEALED,
  /**
   * Its metadata is missing or does not parse, so neither its generation nor its bytes can be
   * trusted; always reported corrupt, and only deletion is allowed.
   */
  UNREADABLE
}
