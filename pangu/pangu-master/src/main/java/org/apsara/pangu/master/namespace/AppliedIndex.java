package org.apsara.pangu.master.namespace;

/** The Raft term and index of the last record applied to the namespace. Immutable. */
public record AppliedIndex(long term, long index) {
  /** Before any record. */
  public static final AppliedIndex NONE = new AppliedIndex(0, 0);
}
