package org.apsara.fuxi.master.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.Properties;
import org.apsara.common.net.HostPort;
import org.apsara.security.sign.AccessKeyCredentials;
import org.apsara.tenant.api.CredentialsFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FuxiMasterConfigTest {
  private static final AccessKeyCredentials KEY =
      new AccessKeyCredentials("LTAItest0000000000000000", "test-secret-0000000000000000000");

  @TempDir Path dir;
  private static Properties minimal() {
    Properties p = new Properties();
    p.setProperty("member.id", "fm1");
    p.setProperty("nuwa.endpoints", "127.0.0.1:2379, 127.0.0.2:2379");
    p.setProperty("token.key.file", "/keys/token.keys");
    return p;
  }

  @Test
  void readsEverySettingAndDefaultsTheRest() {
    FuxiMasterConfig defaults = FuxiMasterConfig.fromProperties(minimal());
    assertThat(defaults.port()).isEqualTo(FuxiMasterConfig.DEFAULT_PORT);
    assertThat(defaults.advertiseHost()).isEqualTo(FuxiMasterConfig.DEFAULT_BIND_HOST);
    assertThat(defaults.heartbeatInterval()).isEqualTo(Duration.ofSeconds(1));
    assertThat(defaults.deadInterval()).isEqualTo(Duration.ofSeconds(10));
    assertThat(defaults.nuwaEndpoints()).containsExactly("127.0.0.1:2379", "127.0.0.2:2379");
    assertThat(defaults.metricsPort()).isEqualTo(-1);

    Properties p = minimal();
    p.setProperty("bind.host", "0.0.0.0");
    p.setProperty("advertise.host", "fm1.example");
    p.setProperty("port", "7400");
    p.setProperty("masters", "fm1.example:7400,fm2.example:7400");
    p.setProperty("nuwa.user", "fuxi");
    p.setProperty("nuwa.password.file", "/keys/nuwa.password");
    p.setProperty("heartbeat.interval", "PT0.5S");
    p.setProperty("dead.interval", "PT5S");
    p.setProperty("rebuild.window", "PT3S");
    p.setProperty("scheduler.preemption.wait", "PT2S");
    FuxiMasterConfig c = FuxiMasterConfig.fromProperties(p);
    assertThat(c.advertiseAddress(7400)).isEqualTo(HostPort.of("fm1.example", 7400));
    assertThat(c.masters()).hasSize(2);
    assertThat(c.nuwaUser()).contains("fuxi");
    assertThat(c.nuwaPasswordFile()).contains(Path.of("/keys/nuwa.password"));
    assertThat(c.heartbeatInterval()).isEqualTo(Duration.ofMillis(500));
    assertThat(c.rebuildWindow()).isEqualTo(Duration.ofSeconds(3));
    assertThat(c.scheduler().preemptionWait()).isEqualTo(Duration.ofSeconds(2));
  }

  @Test
  void refusesUnknownMissingAndInconsistentSettings() {
    Properties unknown = minimal();
    unknown.setProperty("heartbeat.intervall", "PT1S");
    assertThatThrownBy(() -> FuxiMasterConfig.fromProperties(unknown))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("unknown setting heartbeat.intervall");

    Properties noNuwa = minimal();
    noNuwa.remove("nuwa.endpoints");
    assertThatThrownBy(() -> FuxiMasterConfig.fromProperties(noNuwa))
        .hasMessageContaining("nuwa.endpoints");

    Properties userOnly = minimal();
    userOnly.setProperty("nuwa.user", "fuxi");
    assertThatThrownBy(() -> FuxiMasterConfig.fromProperties(userOnly))
        .hasMessageContaining("nuwa.password.file");

    Properties tooEager = minimal();
    tooEager.setProperty("dead.interval", "PT1S");
    assertThatThrownBy(() -> FuxiMasterConfig.fromProperties(tooEager))
        .hasMessageContaining("dead.interval");

    Properties badPort = minimal();
    badPort.setProperty("port", "70000");
    assertThatThrownBy(() -> FuxiMasterConfig.fromProperties(badPort))
        .hasMessageContaining("port");
  }

  @Test
  void readsAndBoundsTheRetentionOfFinishedApplications() {
    FuxiMasterConfig defaults = FuxiMasterConfig.fromProperties(minimal());
    assertThat(defaults.finishedApplicationsMax()).isEqualTo(1000);
    assertThat(defaults.finishedApplicationsRetention()).isEqualTo(Duration.ofHours(24));

    Properties p = minimal();
    p.setProperty("applications.finished.max", "50");
    p.setProperty("applications.finished.retention", "PT2H");
    FuxiMasterConfig c = FuxiMasterConfig.fromProperties(p);
    assertThat(c.finishedApplicationsMax()).isEqualTo(50);
    assertThat(c.finishedApplicationsRetention()).isEqualTo(Duration.ofHours(2));

    for (String bad : new String[] {"0", "-1", "100001"}) {
      p.setProperty("applications.finished.max", bad);
      assertThatThrownBy(() -> FuxiMasterConfig.fromProperties(p))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("applications.finished.max " + bad + " is outside 1..100000");
    }
    p.setProperty("applications.finished.max", "50");
    for (String bad : new String[] {"PT0S", "-PT1H"}) {
      p.setProperty("applications.finished.retention", bad);
      assertThatThrownBy(() -> FuxiMasterConfig.fromProperties(p))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("applications.finished.retention " + Duration.parse(bad)
              + " must be at least PT1S");
    }
    p.setProperty("applications.finished.retention", "PT87601H");
    assertThatThrownBy(() -> FuxiMasterConfig.fromProperties(p))
        .hasMessage("applications.finished.retention PT87601H exceeds PT87600H");
  }

  @Test
  void readsTheIdentityProfileAndRequiresItsEndpoint() throws IOException {
    assertThat(FuxiMasterConfig.fromProperties(minimal()).authenticates()).isFalse();
    Path credentials = dir.resolve("credentials");
    CredentialsFile.write(credentials, new CredentialsFile.Profile("fuxi", KEY,
        Optional.of(HostPort.of("10.0.0.5", 7070)), Optional.empty(), "cn-test"));
    CredentialsFile.write(credentials, new CredentialsFile.Profile("no-endpoint", KEY,
        Optional.empty()));

    Properties p = minimal();
    p.setProperty("identity.credentials", credentials.toString());
    p.setProperty("identity.profile", "fuxi");
    FuxiMasterConfig c = FuxiMasterConfig.fromProperties(p);
    assertThat(c.authenticates()).isTrue();
    assertThat(c.identity().orElseThrow().region()).isEqualTo("cn-test");
    assertThat(c.identity().orElseThrow().endpoint()).contains(HostPort.of("10.0.0.5", 7070));
    assertThat(c.toString()).doesNotContain(KEY.accessKeySecret());

    p.setProperty("identity.profile", "absent");
    assertThatThrownBy(() -> FuxiMasterConfig.fromProperties(p))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("has no profile [absent]");
    p.setProperty("identity.profile", "no-endpoint");
    assertThatThrownBy(() -> FuxiMasterConfig.fromProperties(p))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("profile [no-endpoint] names no endpoint");
    p.setProperty("identity.credentials", dir.resolve("missing").toString());
    assertThatThrownBy(() -> FuxiMasterConfig.fromProperties(p))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("identity.credentials");
    Properties profileOnly = minimal();
    profileOnly.setProperty("identity.profile", "fuxi");
    assertThatThrownBy(() -> FuxiMasterConfig.fromProperties(profileOnly))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("identity.profile needs identity.credentials");
  }
}
