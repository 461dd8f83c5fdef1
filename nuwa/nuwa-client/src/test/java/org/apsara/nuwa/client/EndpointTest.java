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
    assertThat(Endpoint.parse("https://node-1:2379")).isEqualTo(new Endpoint("node-1", 2379));
    assertThat(Endpoint.scheme("https://node-1:2379")).isEqualTo("https");
    assertThat(Endpoint.scheme("http://node-1:2379")).isEqualTo("http");
    assertThat(Endpoint.scheme("node-1:2379")).isEmpty();
  }

  @Test
  void tlsMustAgreeWithTheEndpointsSchemes() {
    assertThatThrownBy(() -> NuwaClient.builder().endpoints("http://h:1", "https://h:2").build())
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("mix");
    assertThatThrownBy(() -> NuwaClient.builder().endpoints("http://h:1")
        .tls(org.apsara.security.tls.TlsMaterial.trusting(java.nio.file.Path.of("ca.crt")))
        .build())
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("http://");
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
          "grpc://h:1"
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
