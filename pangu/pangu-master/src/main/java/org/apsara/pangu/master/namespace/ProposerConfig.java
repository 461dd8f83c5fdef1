package org.apsara.pangu.master.namespace;

import java.time.Duration;

/**
 * The leader-side settings of a {@link NamespaceProposer}. They shape the records the leader
 * builds but not how records apply, so replicas may differ in them without diverging.
 *
 * @param leaseDuration how long a writer's lease lasts from its grant or renewal
 * @param reclaimUnitsPerRecord inodes plus chunks one reclaim record frees (1 to
 *     {@link NamespaceLimits#MAX_RECLAIM_UNITS_PER_RECORD})
 */
public record ProposerConfig(Duration leaseDuration, int reclaimUnitsPerRecord) {
  /** A writer renews well within a minute, as HDFS clients do. */
  public static final Duration DEFAULT_LEASE_DURATION = Duration.ofSeconds(60);
  /** Keeps a reclaim record's WriteBatch around a megabyte. */
  public static final int DEFAULT_RECLAIM_UNITS_PER_RECORD = 2000;

  public static final ProposerConfig DEFAULTS =
      new ProposerConfig(DEFAULT_LEASE_DURATION, DEFAULT_RECLAIM_UNITS_PER_RECORD);

  public ProposerConfig {
    if (leaseDuration.isNegative() || leaseDuration.isZero()) {
      throw new IllegalArgumentException("lease duration must be positive: " + leaseDuration);
    }
    if (reclaimUnitsPerRecord < 1
        || reclaimUnitsPerRecord > NamespaceLimits.MAX_RECLAIM_UNITS_PER_RECORD) {
      throw new IllegalArgumentException("reclaim units per record " + reclaimUnitsPerRecord
          + " is outside 1.." + NamespaceLimits.MAX_RECLAIM_UNITS_PER_RECORD);
    }
  }
}
