package org.apsara.nuwa.client;

import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Executor;

/** How to watch a range. Immutable; build with {@link #builder()}. */
public final class WatchOptions {
  /** From the current revision on, puts and deletes, no previous values. */
  public static final WatchOptions DEFAULT = builder().build();

  private final long startRevision;
  private final boolean prevKv;
  private final boolean noPut;
  private final boolean noDelete;
  private final boolean progressNotify;
  private final Executor executor;

  private WatchOptions(Builder b) {
    if (b.noPut && b.noDelete) {
      throw new IllegalArgumentException("a watch that filters out puts and deletes sees nothing");
    }
    this.startRevision = b.startRevision;
    this.prevKv = b.prevKv;
    this.noPut = b.noPut;
    this.noDelete = b.noDelete;
    this.progressNotify = b.progressNotify;
    this.executor = b.executor;
  }

  public static Builder builder() {
    return new Builder();
  }

  public long startRevision() {
    return startRevision;
  }

  public boolean prevKv() {
    return prevKv;
  }

  public boolean noPut() {
    return noPut;
  }

  public boolean noDelete() {
    return noDelete;
  }

  public boolean progressNotify() {
    return progressNotify;
  }

  /** The executor for listener callbacks, if one was given. */
  public Optional<Executor> executor() {
    return Optional.ofNullable(executor);
  }

  /** Builds {@link WatchOptions}. Not thread-safe. */
  public static final class Builder {
    private long startRevision;
    private boolean prevKv;
    private boolean noPut;
    private boolean noDelete;
    private boolean progressNotify;
    private Executor executor;

    private Builder() {}

    /**
     * Deliver changes from {@code revision} on, replaying history ({@code 0}, the default: changes
     * after the current revision). A compacted revision ends the watch with {@link
     * CompactedException}.
     */
    public Builder startRevision(long revision) {
      this.startRevision = GetOptions.nonNegative(revision, "startRevision");
      return this;
    }

    /** Deliver each changed key as it was before the change too. */
    public Builder prevKv(boolean prevKv) {
      this.prevKv = prevKv;
      return this;
    }

    /** Do not deliver puts. */
    public Builder noPut(boolean noPut) {
      this.noPut = noPut;
      return this;
    }

    /** Do not deliver deletes. */
    public Builder noDelete(boolean noDelete) {
      this.noDelete = noDelete;
      return this;
    }

    /** Ask the server for periodic progress notifications while nothing changes. */
    public Builder progressNotify(boolean progressNotify) {
      this.progressNotify = progressNotify;
      return this;
    }

    /**
     * Run listener callbacks on {@code executor} (one at a time, in order) instead of the client's.
     */
    public Builder executor(Executor executor) {
      this.executor = Objects.requireNonNull(executor, "executor");
      return this;
    }

    public WatchOptions build() {
      return new WatchOptions(this);
    }
  }
}
