package org.apsara.pangu.master.raft;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.apsara.raft.SnapshotRetry;

/**
 * The counters of one master member. Gauges of indexes and leadership are registered by
 * {@link MasterNode}, which can read them. Thread-safe (Micrometer meters are).
 */
final class MasterMetrics {
  static final String PREFIX = "pangu.master.";

  final Counter recordsApplied;
  final Counter recordsRefused;
  final Counter proposalsRefused;
  final Counter snapshotsTaken;
  final Counter snapshotsFailed;
  final Counter snapshotsInstalled;
  final Counter snapshotsRestored;
  final Counter leaseMonitorTicks;
  final Counter leasesRecovered;
  final Counter reclaimRecords;

  MasterMetrics(MeterRegistry registry) {
    recordsApplied = Counter.builder(PREFIX + "records.applied")
        .description("Log records applied that changed the namespace").register(registry);
    recordsRefused = Counter.builder(PREFIX + "records.refused")
        .description("Log records the apply refused (they changed nothing)").register(registry);
    proposalsRefused = Counter.builder(PREFIX + "proposals.refused")
        .description("Commands the leader refused before they reached the log")
        .register(registry);
    snapshotsTaken = Counter.builder(PREFIX + "snapshots.taken")
        .description("Namespace checkpoints taken as Raft snapshots").register(registry);
    snapshotsFailed = Counter.builder(PREFIX + "snapshots.failed")
        .description("Namespace checkpoints that failed (the next try waits "
            + SnapshotRetry.DELAY.toSeconds() + " s)")
        .register(registry);
    snapshotsInstalled = Counter.builder(PREFIX + "snapshots.installed")
        .description("Snapshots received from the leader that replaced the namespace")
        .register(registry);
    snapshotsRestored = Counter.builder(PREFIX + "snapshots.restored")
        .description("Times the namespace was copied from a snapshot (on start or install)")
        .register(registry);
    leaseMonitorTicks = Counter.builder(PREFIX + "lease.monitor.ticks")
        .description("Rounds of the leader's lease monitor").register(registry);
    leasesRecovered = Counter.builder(PREFIX + "leases.recovered")
        .description("Expired leases the lease monitor recovered").register(registry);
    reclaimRecords = Counter.builder(PREFIX + "reclaim.records")
        .description("ReclaimDeleted records the leader proposed").register(registry);
  }
}
