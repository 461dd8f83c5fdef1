package org.apsara.nuwa.client;

/** How to write a key. Immutable; build with {@link #builder()}. */
public final class PutOptions {
  /** No lease, no previous value. */
  public static final PutOptions DEFAULT = builder().build();

  private final long lease;
  private final boolean prevKv;
  private final boolean ignoreValue;
  private final boolean ignoreLease;

  private PutOptions(Builder b) {
    if (b.ignoreLease && b.lease != 0) {
      throw new IllegalArgumentException("a put cannot both set and keep the lease");
    }
    this.lease = b.lease;
    this.prevKv = b.prevKv;
    this.ignoreValue = b.ignoreValue;
    this.ignoreLease = b.ignoreLease;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Shorthand for a put attached to {@code leaseId}. */
  public static PutOptions withLease(long leaseId) {
    return builder().lease(leaseId).build();
  }

  public long lease() {
    return lease;
  }

  public boolean prevKv() {
    return prevKv;
  }

  io.etcd.jetcd.api.PutRequest toProto(
      com.google.protobuf.ByteString key, com.google.protobuf.ByteString value) {
    return io.etcd.jetcd.api.PutRequest.newBuilder()
        .setKey(key)
        .setValue(value)
        .setLease(lease)
        .setPrevKv(prevKv)
        .setIgnoreValue(ignoreValue)
        .setIgnoreLease(ignoreLease)
        .build();
  }

  /** Builds {@link PutOptions}. Not thread-safe. */
  public static final class Builder {
    private long lease;
    private boolean prevKv;
    private boolean ignoreValue;
    private boolean ignoreLease;

    private Builder() {}

    /** Attach the key to a lease: it is deleted when the lease ends. {@code 0} for none. */
    public Builder lease(long leaseId) {
      this.lease = leaseId;
      return this;
    }

    /** Return the key as it was before the put. */
    public Builder prevKv(boolean prevKv) {
      this.prevKv = prevKv;
      return this;
    }

    /** Keep the current value (the put only changes the lease); the key must exist. */
    public Builder ignoreValue(boolean ignoreValue) {
      this.ignoreValue = ignoreValue;
      return this;
    }

    /** Keep the current lease (the put only changes the value); the key must exist. */
    public Builder ignoreLease(boolean ignoreLease) {
      this.ignoreLease = ignoreLease;
      return this;
    }

    public PutOptions build() {
      return new PutOptions(this);
    }
  }
}
