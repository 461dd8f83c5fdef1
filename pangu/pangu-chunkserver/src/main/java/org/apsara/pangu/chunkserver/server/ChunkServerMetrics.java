package org.apsara.pangu.chunkserver.server;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apsara.pangu.chunkserver.store.ChunkStore;
import org.apsara.pangu.chunkserver.store.VolumeUsage;

/**
 * The chunkserver's own meters. Counters are thread-safe; gauges read the store when scraped.
 * Prometheus names get {@code _total} appended to counters and {@code _bytes} units kept.
 */
final class ChunkServerMetrics {
  private final MeterRegistry registry;
  private final Counter bytesWritten;
  private final Counter bytesRead;
  private final Counter bytesReplicated;
  private final Counter bytesBulkRead;
  private final Counter bytesBulkWritten;
  private final Counter syncs;
  private final Counter corruptReplicasFound;
  private final Map<String, Counter> tokenRejections = new ConcurrentHashMap<>();
  private final Map<String, Counter> heartbeatFailures = new ConcurrentHashMap<>();
  private final Counter fullHeartbeats;
  private final Counter incrementalHeartbeats;
  private final Counter replicasReported;

  ChunkServerMetrics(MeterRegistry registry) {
    this.registry = registry;
    bytesWritten = Counter.builder("pangu_chunkserver_written_bytes")
        .description("Bytes appended to replicas, by WriteReplica and the bulk write path")
        .register(registry);
    bytesBulkWritten = Counter.builder("pangu_chunkserver_bulk_written_bytes")
        .description("Bytes appended to replicas by the bulk write path (also counted in"
            + " pangu_chunkserver_written_bytes)").register(registry);
    bytesRead = Counter.builder("pangu_chunkserver_read_bytes")
        .description("Bytes sent by ReadReplica, each verified against its checksum")
        .register(registry);
    bytesBulkRead = Counter.builder("pangu_chunkserver_bulk_read_bytes")
        .description("Bytes sent by the bulk read path, verified by the client")
        .register(registry);
    bytesReplicated = Counter.builder("pangu_chunkserver_replicated_bytes")
        .description("Bytes copied here from other chunkservers by ReplicateReplica")
        .register(registry);
    syncs = Counter.builder("pangu_chunkserver_syncs")
        .description("Syncs (forces to disk) requested by writers").register(registry);
    corruptReplicasFound = Counter.builder("pangu_chunkserver_corrupt_replicas_found")
        .description("Replicas found corrupt (by reads, the scrubber or recovery)")
        .register(registry);
    fullHeartbeats = heartbeatCounter("full");
    incrementalHeartbeats = heartbeatCounter("incremental");
    replicasReported = Counter.builder("pangu_chunkserver_heartbeat_replicas_reported")
        .description("Replica reports in heartbeats the master answered (all of them in a full"
            + " report, the changed ones in an incremental one)")
        .register(registry);
  }

  private Counter heartbeatCounter(String report) {
    return Counter.builder("pangu_chunkserver_heartbeats_sent")
        .description("Heartbeats the master answered, by kind of replica report")
        .tag("report", report).register(registry);
  }

  /** Registers the gauge of the heartbeats' age; call once, if heartbeats are sent. */
  void bindHeartbeats(HeartbeatSender sender) {
    Gauge.builder("pangu_chunkserver_heartbeat_last_success_age_seconds", sender,
            HeartbeatSender::lastAnsweredAgeSeconds)
        .description("Seconds since the master last answered a heartbeat (since the start if it"
            + " never did)")
        .register(registry);
  }

  /** Registers the gauges that read {@code store}; call once, after the store is open. */
  void bindStore(ChunkStore store) {
    Gauge.builder("pangu_chunkserver_replicas", store, s -> s.replicas().size())
        .description("Replicas on this chunkserver").register(registry);
    Gauge.builder("pangu_chunkserver_volumes_failed", store,
            s -> s.volumeUsage().stream().filter(VolumeUsage::failed).count())
        .description("Volumes taken out of service after disk errors").register(registry);
    for (VolumeUsage volume : store.volumeUsage()) {
      String directory = volume.directory().toString();
      Gauge.builder("pangu_chunkserver_volume_free_bytes", store,
              s -> usageOf(s, directory, true))
          .description("Free bytes of a volume (the reserve not subtracted)")
          .tag("volume", directory).register(registry);
      Gauge.builder("pangu_chunkserver_volume_used_bytes", store,
              s -> usageOf(s, directory, false))
          .description("Bytes held by replica files on a volume")
          .tag("volume", directory).register(registry);
    }
  }

  private static double usageOf(ChunkStore store, String directory, boolean free) {
    for (VolumeUsage volume : store.volumeUsage()) {
      if (volume.directory().toString().equals(directory)) {
        return free ? volume.freeBytes() : volume.usedBytes();
      }
    }
    return Double.NaN;
  }

  void written(long bytes) {
    bytesWritten.increment(bytes);
  }

  void bulkWritten(long bytes) {
    bytesWritten.increment(bytes);
    bytesBulkWritten.increment(bytes);
  }

  void read(long bytes) {
    bytesRead.increment(bytes);
  }

  void bulkRead(long bytes) {
    bytesBulkRead.increment(bytes);
  }

  void replicated(long bytes) {
    bytesReplicated.increment(bytes);
  }

  void synced() {
    syncs.increment();
  }

  void corruptReplicaFound() {
    corruptReplicasFound.increment();
  }

  void heartbeatAnswered(boolean full, int replicaReports) {
    (full ? fullHeartbeats : incrementalHeartbeats).increment();
    replicasReported.increment(replicaReports);
  }

  void heartbeatFailed(String statusCode) {
    heartbeatFailures.computeIfAbsent(statusCode, code -> Counter.builder(
            "pangu_chunkserver_heartbeats_failed")
        .description("Heartbeats that failed, by gRPC status (UNAVAILABLE includes redirects"
            + " from followers to the leader)")
        .tag("status", code).register(registry)).increment();
  }

  void tokenRejected(String reason) {
    tokenRejections.computeIfAbsent(reason, r -> Counter.builder(
            "pangu_chunkserver_token_rejections")
        .description("Calls refused for their capability token, by reason")
        .tag("reason", r).register(registry)).increment();
  }
}
