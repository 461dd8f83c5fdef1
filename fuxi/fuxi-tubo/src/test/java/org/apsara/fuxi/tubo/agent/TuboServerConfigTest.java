package org.apsara.fuxi.tubo.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import org.apsara.common.net.HostPort;
import org.apsara.fuxi.tubo.cgroup.CgroupDrivers;
import org.apsara.fuxi.tubo.cgroup.CgroupMode;
import org.apsara.security.tls.ClientAuth;
import org.junit.jupiter.api.Test;

class TuboServerConfigTest {
  private static Properties required() {
    Properties p = new Properties();
    p.setProperty("master.addresses", "10.0.0.1:7300, 10.0.0.2:7300");
    p.setProperty("data.dir", "/srv/tubo");
    p.setProperty("token.key.file", "/etc/apsara/token.keys");
    return p;
  }

  @Test
  void readsEverySetting() {
    Properties p = required();
    p.setProperty("machine.id", "m-17");
    p.setProperty("rack", "/dc1/rack7");
    p.setProperty("bind.host", "0.0.0.0");
    p.setProperty("port", "7411");
    p.setProperty("advertise.host", "10.0.1.17");
    p.setProperty("cgroup.mode", "v2");
    p.setProperty("cgroup.parent", "tubo-b");
    p.setProperty("cpu.millicores", "15000");
    p.setProperty("memory.mib", "30000");
    p.setProperty("tls.cert", "/etc/apsara/tubo.crt");
    p.setProperty("tls.key", "/etc/apsara/tubo.key");
    p.setProperty("tls.ca", "/etc/apsara/ca.crt");
    p.setProperty("tls.client.auth", "true");
    p.setProperty("metrics.port", "9411");

    TuboServerConfig config = TuboServerConfig.fromProperties(p);

    assertThat(config.machineId()).isEqualTo("m-17");
    assertThat(config.rack()).isEqualTo("/dc1/rack7");
    assertThat(config.masterAddresses())
        .containsExactly(HostPort.of("10.0.0.1", 7300), HostPort.of("10.0.0.2", 7300));
    assertThat(config.bindHost()).isEqualTo("0.0.0.0");
    assertThat(config.port()).isEqualTo(7411);
    assertThat(config.advertisedHost()).isEqualTo("10.0.1.17");
    assertThat(config.dataDir()).isEqualTo(Path.of("/srv/tubo"));
    assertThat(config.sandboxRoot()).isEqualTo(Path.of("/srv/tubo/sandboxes"));
    assertThat(config.cgroupMode()).isEqualTo(CgroupMode.V2);
    assertThat(config.cgroupParent()).isEqualTo("tubo-b");
    assertThat(config.cpuMillicores()).hasValue(15000);
    assertThat(config.memoryMib()).hasValue(30000);
    assertThat(config.tokenKeyFile()).isEqualTo(Path.of("/etc/apsara/token.keys"));
    assertThat(config.tls()).isPresent();
    assertThat(config.clientAuth()).isEqualTo(ClientAuth.REQUIRE);
    assertThat(config.metricsPort()).isEqualTo(9411);
  }

  @Test
  void hasDefaultsForEverythingElse() {
    TuboServerConfig config = TuboServerConfig.fromProperties(required());

    assertThat(config.machineId()).isEqualTo(TuboServerConfig.hostName()).isNotEmpty();
    assertThat(config.rack()).isEmpty();
    assertThat(config.bindHost()).isEqualTo("127.0.0.1");
    assertThat(config.port()).isEqualTo(TuboServerConfig.DEFAULT_PORT);
    assertThat(config.advertisedHost()).isEqualTo("127.0.0.1");
    assertThat(config.cgroupMode()).isEqualTo(CgroupMode.AUTO);
    assertThat(config.cgroupParent()).isEqualTo(CgroupDrivers.DEFAULT_PARENT_NAME);
    assertThat(config.cpuMillicores()).isEmpty();
    assertThat(config.memoryMib()).isEmpty();
    assertThat(config.tls()).isEmpty();
    assertThat(config.clientAuth()).isEqualTo(ClientAuth.NONE);
    assertThat(config.metricsPort()).isEqualTo(-1);
  }

  @Test
  void refusesUnknownMissingAndMalformedSettings() {
    Properties unknown = required();
    unknown.setProperty("heartbeat.interval", "PT1S");
    assertThatThrownBy(() -> TuboServerConfig.fromProperties(unknown))
        .hasMessageContaining("unknown setting heartbeat.interval");

    for (String key : List.of("master.addresses", "data.dir", "token.key.file")) {
      Properties missing = required();
      missing.remove(key);
      assertThatThrownBy(() -> TuboServerConfig.fromProperties(missing))
          .as(key).hasMessageContaining(key + " is required");
    }

    Properties mode = required();
    mode.setProperty("cgroup.mode", "v3");
    assertThatThrownBy(() -> TuboServerConfig.fromProperties(mode))
        .hasMessageContaining("cgroup.mode = 'v3' must be auto, v1, v2 or none");

    Properties wildcard = required();
    wildcard.setProperty("bind.host", "0.0.0.0");
    assertThatThrownBy(() -> TuboServerConfig.fromProperties(wildcard))
        .hasMessageContaining("advertise.host is required");

    Properties cpu = required();
    cpu.setProperty("cpu.millicores", "0");
    assertThatThrownBy(() -> TuboServerConfig.fromProperties(cpu))
        .hasMessageContaining("cpu.millicores = 0 must be positive");

    Properties machine = required();
    machine.setProperty("machine.id", "a/b");
    assertThatThrownBy(() -> TuboServerConfig.fromProperties(machine))
        .hasMessageContaining("machine.id = 'a/b'");

    Properties tls = required();
    tls.setProperty("tls.ca", "/etc/apsara/ca.crt");
    assertThatThrownBy(() -> TuboServerConfig.fromProperties(tls))
        .hasMessageContaining("tls.cert and tls.key");
  }
}
