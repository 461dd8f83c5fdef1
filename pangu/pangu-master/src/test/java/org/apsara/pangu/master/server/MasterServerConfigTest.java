package org.apsara.pangu.master.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import org.apsara.common.net.HostPort;
import org.junit.jupiter.api.Test;

/** Reading a member's settings from properties, with defaults and errors that name the key. */
class MasterServerConfigTest {
  static Properties minimal() {
    Properties p = new Properties();
    p.setProperty("member.id", "m2");
    p.setProperty("peer.m1.raft", "10.0.0.1:7001");
    p.setProperty("peer.m2.raft", "10.0.0.2:7001");
    p.setProperty("peer.m3.raft", "10.0.0.3:7001");
    p.setProperty("peer.m3.client", "10.0.0.3:9000");
    p.setProperty("data.dir", "/var/lib/pangu-master");
    p.setProperty("token.key.file", "/etc/apsara/token.keys");
    return p;
  }

  @Test
  void defaultsFillWhatIsNotSet() {
    MasterServerConfig c = MasterServerConfig.fromProperties(minimal());
    assertThat(c.memberId()).isEqualTo("m2");
    assertThat(c.master().peers()).containsOnlyKeys("m1", "m2", "m3");
    assertThat(c.clientAddresses()).isEqualTo(Map.of(
        "m1", HostPort.of("10.0.0.1", 7000),
        "m2", HostPort.of("10.0.0.2", 7000),
        "m3", HostPort.of("10.0.0.3", 9000)));
    assertThat(c.clientAddress()).isEqualTo(HostPort.of("10.0.0.2", 7000));
    assertThat(c.bindHost()).isEqualTo("10.0.0.2");
    assertThat(c.master().dataDir()).isEqualTo(Path.of("/var/lib/pangu-master"));
    assertThat(c.metricsPort()).isEqualTo(-1);
    assertThat(c.defaultReplication()).isEqualTo(3);
    assertThat(c.defaultChunkSizeBytes()).isEqualTo(64L << 20);
    assertThat(c.chunks().heartbeatInterval()).isEqualTo(Duration.ofSeconds(3));
    assertThat(c.chunks().deadInterval()).isEqualTo(Duration.ofSeconds(30));
    assertThat(c.chunks().copiesPerServerMax()).isEqualTo(2);
    assertThat(c.chunks().balanceThresholdPercent()).isEqualTo(10);
    assertThat(c.chunks().balanceCopiesMax()).isEqualTo(4);
    assertThat(c.chunks().replicationMin()).isEqualTo(2);
    assertThat(c.tokenLifetime()).isEqualTo(Duration.ofHours(1));
    assertThat(c.master().proposer().leaseDuration()).isEqualTo(Duration.ofSeconds(60));
    assertThat(c.tls()).isEmpty();
  }

  @Test
  void everySettingIsRead() {
    Properties p = minimal();
    p.setProperty("bind.host", "0.0.0.0");
    p.setProperty("metrics.port", "9100");
    p.setProperty("replication.default", "2");
    p.setProperty("replication.min", "1");
    p.setProperty("chunk.size.default", "128M");
    p.setProperty("heartbeat.interval", "PT1S");
    p.setProperty("dead.interval", "PT10S");
    p.setProperty("repair.interval", "PT0.5S");
    p.setProperty("copies.per.chunkserver", "4");
    p.setProperty("balance.threshold", "2.5");
    p.setProperty("balance.copies.max", "16");
    p.setProperty("token.lifetime", "PT10M");
    p.setProperty("lease.duration", "PT30S");
    p.setProperty("default.owner", "hdfs");
    MasterServerConfig c = MasterServerConfig.fromProperties(p);
    assertThat(c.bindHost()).isEqualTo("0.0.0.0");
    assertThat(c.metricsPort()).isEqualTo(9100);
    assertThat(c.defaultReplication()).isEqualTo(2);
    assertThat(c.chunks().replicationMin()).isEqualTo(1);
    assertThat(c.defaultChunkSizeBytes()).isEqualTo(128L << 20);
    assertThat(c.chunks().deadInterval()).isEqualTo(Duration.ofSeconds(10));
    assertThat(c.chunks().copiesPerServerMax()).isEqualTo(4);
    assertThat(c.chunks().balanceThresholdFraction()).isEqualTo(0.025);
    assertThat(c.chunks().balancing()).isTrue();
    assertThat(c.chunks().balanceCopiesMax()).isEqualTo(16);
    assertThat(c.repairInterval()).isEqualTo(Duration.ofMillis(500));
    assertThat(c.tokenLifetime()).isEqualTo(Duration.ofMinutes(10));
    assertThat(c.master().proposer().leaseDuration()).isEqualTo(Duration.ofSeconds(30));
    assertThat(c.defaultOwner()).isEqualTo("hdfs");
  }

  @Test
  void aBadSettingFailsNamingIt() {
    assertBad("member.id", "m9", "member m9 is not among the peers");
    assertBad("colour", "blue", "unknown setting colour");
    assertBad("peer.m1.raft", "10.0.0.1", "peer.m1.raft");
    assertBad("peer.m4.client", "10.0.0.4:7000", "peer.m4.client names a member without");
    assertBad("metrics.port", "lots", "metrics.port = 'lots' is not an integer");
    assertBad("chunk.size.default", "64X", "chunk.size.default = '64X' is not a size");
    assertBad("replication.default", "17", "replication.default 17 is outside 1..16");
    assertBad("replication.min", "0", "replication.min 0 is outside 1..16");
    assertBad("dead.interval", "PT1S", "dead interval PT1S must be at least two heartbeat");
    assertBad("token.lifetime", "PT2H", "token.lifetime PT2H must be positive and at most PT1H");
    assertBad("heartbeat.interval", "3s", "heartbeat.interval = '3s' is not an ISO-8601");
    assertBad("tls.client.auth", "true", "tls.client.auth=true needs tls.ca");
    assertBad("balance.threshold", "ten", "balance.threshold = 'ten' is not a number");
    assertBad("balance.threshold", "101", "balance.threshold 101.0 is outside 0..100");
    assertBad("balance.threshold", "-1", "balance.threshold -1.0 is outside 0..100");
    assertBad("balance.copies.max", "0", "balance.copies.max 0 is outside 1..1024");
    Properties p = minimal();
    p.remove("token.key.file");
    assertThatThrownBy(() -> MasterServerConfig.fromProperties(p))
        .hasMessageContaining("token.key.file is required");
  }

  @Test
  void aZeroThresholdTurnsTheBalancerOff() {
    Properties p = minimal();
    p.setProperty("balance.threshold", "0");
    assertThat(MasterServerConfig.fromProperties(p).chunks().balancing()).isFalse();
  }

  static void assertBad(String key, String value, String message) {
    Properties p = minimal();
    p.setProperty(key, value);
    assertThatThrownBy(() -> MasterServerConfig.fromProperties(p))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(message);
  }
}
