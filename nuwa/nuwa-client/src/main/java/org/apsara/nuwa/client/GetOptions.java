package org.apsara.nuwa.client;

import java.util.Objects;

/**
 * How to read a range: at which revision, in which order, how many keys, and what to return.
 * Immutable; build with {@link #builder()}.
 */
public final class GetOptions {
  /** Read the latest revision, linearizably, all keys, keys and values, in key order. */
  public static final GetOptions DEFAULT = builder().build();

  /** The order of the result. */
  public enum SortOrder {
    /** Key order, as stored. */
    NONE,
    ASCEND,
    DESCEND
  }

  /** What to sort by. */
  public enum SortTarget {
    KEY,
    VERSION,
    CREATE_REVISION,
    MOD_REVISION,
    VALUE
  }

  private final long limit;
  private final long revision;
  private final SortOrder sortOrder;
  private final SortTarget sortTarget;
  private final boolean serializable;
  private final boolean keysOnly;
  private final boolean countOnly;
  private final long minModRevision;
  private final long maxModRevision;
  private final long minCreateRevision;
  private final long maxCreateRevision;

  private GetOptions(Builder b) {
    this.limit = b.limit;
    this.revision = b.revision;
    this.sortOrder = b.sortOrder;
    this.sortTarget = b.sortTarget;
    this.serializable = b.serializable;
    this.keysOnly = b.keysOnly;
    this.countOnly = b.countOnly;
    this.minModRevision = b.minModRevision;
    this.maxModRevision = b.maxModRevision;
    this.minCreateRevision = b.minCreateRevision;
    this.maxCreateRevision = b.maxCreateRevision;
  }

  public static Builder builder() {
    return new Builder();
  }

  public long limit() {
    return limit;
  }

  public long revision() {
    return revision;
  }

  public SortOrder sortOrder() {
    return sortOrder;
  }

  public SortTarget sortTarget() {
    return sortTarget;
  }

  public boolean serializable() {
    return serializable;
  }

  public boolean keysOnly() {
    return keysOnly;
  }

  public boolean countOnly() {
    return countOnly;
  }

  io.etcd.jetcd.api.RangeRequest toProto(KeyRange range) {
    io.etcd.jetcd.api.RangeRequest.Builder b =
        io.etcd.jetcd.api.RangeRequest.newBuilder()
            .setKey(range.key())
            .setRangeEnd(range.rangeEnd())
            .setLimit(limit)
            .setRevision(revision)
            .setSerializable(serializable)
            .setKeysOnly(keysOnly)
            .setCountOnly(countOnly)
            .setMinModRevision(minModRevision)
            .setMaxModRevision(maxModRevision)
            .setMinCreateRevision(minCreateRevision)
            .setMaxCreateRevision(maxCreateRevision);
    b.setSortOrder(
        switch (sortOrder) {
          case NONE -> io.etcd.jetcd.api.RangeRequest.SortOrder.NONE;
          case ASCEND -> io.etcd.jetcd.api.RangeRequest.SortOrder.ASCEND;
          case DESCEND -> io.etcd.jetcd.api.RangeRequest.SortOrder.DESCEND;
        });
    b.setSortTarget(
        switch (sortTarget) {
          case KEY -> io.etcd.jetcd.api.RangeRequest.SortTarget.KEY;
          case VERSION -> io.etcd.jetcd.api.RangeRequest.SortTarget.VERSION;
          case CREATE_REVISION -> io.etcd.jetcd.api.RangeRequest.SortTarget.CREATE;
          case MOD_REVISION -> io.etcd.jetcd.api.RangeRequest.SortTarget.MOD;
          case VALUE -> io.etcd.jetcd.api.RangeRequest.SortTarget.VALUE;
        });
    return b.build();
  }

  /** Builds {@link GetOptions}. Not thread-safe. */
  public static final class Builder {
    private long limit;
    private long revision;
    private SortOrder sortOrder = SortOrder.NONE;
    private SortTarget sortTarget = SortTarget.KEY;
    private boolean serializable;
    private boolean keysOnly;
    private boolean countOnly;
    private long minModRevision;
    private long maxModRevision;
    private long minCreateRevision;
    private long maxCreateRevision;

    private Builder() {}

    /** Return at most {@code limit} keys ({@code 0}, the default, for no limit). */
    public Builder limit(long limit) {
      this.limit = nonNegative(limit, "limit");
      return this;
    }

    /**
     * Read the store as it was at {@code revision} ({@code 0}, the default, for the latest). A
     * compacted revision fails with {@link CompactedException}.
     */
    public Builder revision(long revision) {
      this.revision = nonNegative(revision, "revision");
      return this;
    }

    public Builder sort(SortTarget target, SortOrder order) {
      this.sortTarget = Objects.requireNonNull(target, "target");
      this.sortOrder = Objects.requireNonNull(order, "order");
      return this;
    }

    /**
     * Let the member that receives the read answer from its own copy without asking the leader:
     * faster and available without a quorum, but possibly stale.
     */
    public Builder serializable(boolean serializable) {
      this.serializable = serializable;
      return this;
    }

    /** Return keys without their values. */
    public Builder keysOnly(boolean keysOnly) {
      this.keysOnly = keysOnly;
      return this;
    }

    /** Return only the number of keys in the range. */
    public Builder countOnly(boolean countOnly) {
      this.countOnly = countOnly;
      return this;
    }

    /** Keep only keys last modified at or after {@code revision} ({@code 0}: no bound). */
    public Builder minModRevision(long revision) {
      this.minModRevision = nonNegative(revision, "minModRevision");
      return this;
    }

    /** Keep only keys last modified at or before {@code revision} ({@code 0}: no bound). */
    public Builder maxModRevision(long revision) {
      this.maxModRevision = nonNegative(revision, "maxModRevision");
      return this;
    }

    /** Keep only keys created at or after {@code revision} ({@code 0}: no bound). */
    public Builder minCreateRevision(long revision) {
      this.minCreateRevision = nonNegative(revision, "minCreateRevision");
      return this;
    }

    /** Keep only keys created at or before {@code revision} ({@code 0}: no bound). */
    public Builder maxCreateRevision(long revision) {
      this.maxCreateRevision = nonNegative(revision, "maxCreateRevision");
      return this;
    }

    public GetOptions build() {
      return new GetOptions(this);
    }
  }

  static long nonNegative(long value, String name) {
    if (value < 0) {
      throw new IllegalArgumentException(name + " must not be negative: " + value);
    }
    return value;
  }
}
