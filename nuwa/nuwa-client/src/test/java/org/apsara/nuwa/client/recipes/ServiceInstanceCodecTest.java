package org.apsara.nuwa.client.recipes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ServiceInstanceCodecTest {
  @Test
  void encodesAsCompactJson() {
    ServiceInstance instance =
        new ServiceInstance("svc", "i1", "10.0.0.1:80", Map.of("zone", "a", "version", "1.4"));

    assertThat(ServiceInstanceCodec.encode(instance).toStringUtf8())
        .isEqualTo(
            "{\"address\":\"10.0.0.1:80\",\"metadata\":{\"version\":\"1.4\",\"zone\":\"a\"}}");
  }

  @Test
  void roundTripsAwkwardCharacters() {
    ServiceInstance instance =
        new ServiceInstance(
            "svc",
            "i1",
            "[::1]:80",
            Map.of("quote\"back\\slash", "line\nbreak\ttab\u0001ctl", "unicode", "区域-é"));

    ByteString encoded = ServiceInstanceCodec.encode(instance);

    assertThat(ServiceInstanceCodec.decode("svc", "i1", encoded)).isEqualTo(instance);
  }

  @Test
  void ignoresUnknownMembersAndAcceptsWhitespaceAndEscapes() {
    String json =
        " { \"version\" : \"2\", \"address\" : \"h\\u003a1\\/x\", \"extra\": {\"a\":\"b\"},"
            + " \"metadata\" : { } } ";

    ServiceInstance decoded =
        ServiceInstanceCodec.decode("svc", "i1", ByteString.copyFromUtf8(json));

    assertThat(decoded).isEqualTo(new ServiceInstance("svc", "i1", "h:1/x"));
  }

  @Test
  void rejectsValuesNotInTheFormat() {
    for (String bad :
        new String[] {
          "",
          "not json",
          "{}",
          "{\"address\":1}",
          "{\"address\":\"a\"",
          "{\"address\":\"a\"} x",
          "{\"address\":\"a\",\"address\":\"b\"}",
          "{\"address\":\"a\",\"metadata\":\"flat\"}",
          "{\"address\":\"a\",\"metadata\":{\"k\":{\"nested\":\"x\"}}}",
          "{\"address\":\"bad\\q\"}"
        }) {
      assertThatThrownBy(
              () -> ServiceInstanceCodec.decode("svc", "i1", ByteString.copyFromUtf8(bad)))
          .as(bad)
          .isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void instanceNamesMayNotContainSlashes() {
    assertThatThrownBy(() -> new ServiceInstance("a/b", "i", "x"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new ServiceInstance("a", "", "x"))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
