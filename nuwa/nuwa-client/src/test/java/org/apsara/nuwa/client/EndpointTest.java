package org.apsara.nuwa.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class EndpointTest {
  @Test
  void parsesTheFormsEtcdPrints() {
    assertThat(Endpoint.parse("127.0.0.1:2379")).isEqualTo(new Endpoint("127.0.0.1", 2379));
    assertThat(Endpoint.parse("http://node-1:2379/")).isEqualTo(new Endpoint("node-1", 2379));
    assertThat(Endpoint.parse("[::1]:2379")).isEqualTo(new Endpoint("::1", 2379));
    assertThat(new Endpoint("::1", 2379).authority()).isEqualTo("[::1]:2379");
  }

  @Test
  void rejectsWhatIsNotAnEndpoint() {
    for (String bad :
        new String[] {
          "",
          "host",
          "host:",
          "host:x",
          "host:0",
          "host:70000",
          "::1:2379",
          "[::1]2379",
          "https://h:1"
        }) {
      assertThatThrownBy(() -> Endpoint.parse(bad))
          .as(bad)
          .isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void builderRejectsBadEndpointsEarlyAndNeedsOne() {
    assertThatThrownBy(() -> NuwaClient.builder().endpoints("nope"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> NuwaClient.builder().build())
        .isInstanceOf(IllegalStateException.class);
  }
}
