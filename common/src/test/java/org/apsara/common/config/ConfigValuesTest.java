package org.apsara.common.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class ConfigValuesTest {
  @Test
  void parsesWhatIsWellFormed() {
    assertThat(ConfigValues.parseInt("port", " 7000 ")).isEqualTo(7000);
    assertThat(ConfigValues.parseBoolean("tls.client.auth", "true")).isTrue();
    assertThat(ConfigValues.parseBoolean("tls.client.auth", "false")).isFalse();
    assertThat(ConfigValues.parseDuration("dead.interval", "PT30S"))
        .isEqualTo(Duration.ofSeconds(30));
  }

  @Test
  void refusesTheRestNamingTheSettingAndValue() {
    assertThatThrownBy(() -> ConfigValues.parseInt("port", "70o0"))
        .hasMessage("port = '70o0' is not an integer");
    assertThatThrownBy(() -> ConfigValues.parseBoolean("tls.client.auth", "yes"))
        .hasMessage("tls.client.auth = 'yes' must be true or false");
    assertThatThrownBy(() -> ConfigValues.parseDuration("dead.interval", "30s"))
        .hasMessageContaining("dead.interval = '30s' is not an ISO-8601 duration");
  }
}
