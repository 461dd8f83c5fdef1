package org.apsara.nuwa.client;

/** How to delete keys. Immutable; build with {@link #builder()}. */
public final class DeleteOptions {
  /** Do not return the deleted keys. */
  public static final DeleteOptions DEFAULT = builder().build();

  private final boolean prevKv;

  private DeleteOptions(Builder b) {
    this.prevKv = b.prevKv;
  }

  public static Builder builder() {
    return new Builder();
  }

  public boolean prevKv() {
    return prevKv;
  }

  io.etcd.jetcd.api.DeleteRangeRequest toProto(KeyRange range) {
    return io.etcd.jetcd.api.DeleteRangeRequest.newBuilder()
        .setKey(range.key())
        .setRangeEnd(range.rangeEnd())
        .setPrevKv(prevKv)
        .build();
  }

  /** Builds {@link DeleteOptions}. Not thread-safe. */
  public static final class Builder {
    private boolean prevKv;

    private Builder() {}

    /** Return the deleted keys as they were. */
    public Builder prevKv(boolean prevKv) {
      this.prevKv = prevKv;
      return this;
    }

    public DeleteOptions build() {
      return new DeleteOptions(this);
    }
  }
}
