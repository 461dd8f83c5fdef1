package org.apsara.common.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class HostPortTest {
  @ParameterizedTest
  @CsvSource({
      "localhost:2379, localhost, 2379",
      "127.0.0.1:0, 127.0.0.1, 0",
      "10.0.0.255:65535, 10.0.0.255, 65535",
      "node-1.cluster.local:80, node-1.cluster.local, 80",
      "node_1:80, node_1, 80",
      "example.com.:443, example.com., 443",
      "[::1]:2379, ::1, 2379",
      "[::]:1, ::, 1",
      "[2001:db8::1]:8080, 2001:db8::1, 8080",
      "[fe80::1%eth0]:22, fe80::1%eth0, 22",
      "[::ffff:192.168.0.1]:9, ::ffff:192.168.0.1, 9",
      "[1:2:3:4:5:6:7:8]:9, 1:2:3:4:5:6:7:8, 9",
  })
  void parsesValidAddresses(String text, String host, int port) {
    HostPort parsed = HostPort.parse(text);
    assertThat(parsed.host()).isEqualTo(host);
    assertThat(parsed.port()).isEqualTo(port);
    assertThat(parsed.format()).isEqualTo(text);
    assertThat(HostPort.parse(parsed.toString())).isEqualTo(parsed);
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "''                   | empty address",
      "localhost            | has no port",
      "localhost:           | has an empty port",
      ":2379                | has no host",
      "localhost:http       | port 'http' is not a number",
      "localhost:+80        | port '+80' is not a number",
      "localhost:-1         | port '-1' is not a number",
      "localhost:65536      | port 65536 is out of range 0..65535",
      "localhost:9999999999 | is not a number",
      "::1:2379             | IPv6 address must be enclosed in brackets",
      "[::1]                | has no port",
      "[::1                 | '[' without a matching ']'",
      "::1]:80              | ']' without a matching '['",
      "host]:80             | ']' without a matching '['",
      "[]:80                | empty IPv6 address",
      "[localhost]:80       | brackets are only allowed around an IPv6 address",
      "[::1]x80             | expected ':port' after ']'",
      "[1::2::3]:80         | '::' may appear only once",
      "[1:2:3:4:5:6:7]:80   | expected 8 groups",
      "[12345::1]:80        | bad group '12345'",
      "[::g]:80             | bad group 'g'",
      "[fe80::1%]:80        | invalid zone id",
      "'local host:80'      | contains whitespace",
      "a..b:80              | has an empty label",
      "-a.b:80              | starts or ends with '-'",
      "a/b:80               | contains '/'",
      "256.1.1.1:80         | '256' is over 255",
      "1.2.3:80             | not a valid IPv4 address",
  })
  void rejectsInvalidAddressesWithAClearMessage(String text, String messagePart) {
    assertThatThrownBy(() -> HostPort.parse(text))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(messagePart);
  }

  @Test
  void rejectsOverlongNames() {
    String label64 = "a".repeat(64);
    assertThatThrownBy(() -> HostPort.parse(label64 + ".com:1"))
        .hasMessageContaining("label longer than 63");
    String name254 = ("a".repeat(49) + ".").repeat(5) + "abcd";
    assertThat(name254).hasSize(254);
    assertThatThrownBy(() -> HostPort.parse(name254 + ":1"))
        .hasMessageContaining("254 characters long, at most 253");
  }

  @Test
  void nullIsRejected() {
    assertThatThrownBy(() -> HostPort.parse(null)).hasMessageContaining("empty address");
    assertThatThrownBy(() -> HostPort.of(null, 1)).hasMessageContaining("host must not be null");
  }

  @Test
  void defaultPortAppliesOnlyWhenThePortIsLeftOut() {
    assertThat(HostPort.parse("localhost", 2379)).isEqualTo(HostPort.of("localhost", 2379));
    assertThat(HostPort.parse("[::1]", 2379)).isEqualTo(HostPort.of("::1", 2379));
    assertThat(HostPort.parse("localhost:1", 2379)).isEqualTo(HostPort.of("localhost", 1));
    assertThatThrownBy(() -> HostPort.parse("localhost", 70000))
        .hasMessageContaining("default port 70000 is out of range");
    assertThatThrownBy(() -> HostPort.parse("localhost", -1))
        .hasMessageContaining("default port -1 is out of range");
  }

  @Test
  void constructorNormalizesBracketsAndValidates() {
    assertThat(HostPort.of("[::1]", 80)).isEqualTo(HostPort.of("::1", 80));
    assertThat(HostPort.of("::1", 80).format()).isEqualTo("[::1]:80");
    assertThat(HostPort.of("::1", 80).isIpv6()).isTrue();
    assertThat(HostPort.of("127.0.0.1", 80).isIpv6()).isFalse();
    assertThatThrownBy(() -> HostPort.of("localhost", 65536))
        .hasMessageContaining("port 65536 is out of range 0..65535");
    assertThatThrownBy(() -> HostPort.of("", 1)).hasMessageContaining("host must not be empty");
    assertThatThrownBy(() -> HostPort.of("[abc]", 1))
        .hasMessageContaining("brackets are only allowed around an IPv6 address");
  }

  @Test
  void parsesLists() {
    assertThat(HostPort.parseList("a:1, [::1]:2 ,b:3"))
        .containsExactly(HostPort.of("a", 1), HostPort.of("::1", 2), HostPort.of("b", 3));
    assertThat(HostPort.parseList("a:1")).isEqualTo(List.of(HostPort.of("a", 1)));
    assertThatThrownBy(() -> HostPort.parseList(" ")).hasMessageContaining("empty address list");
    assertThatThrownBy(() -> HostPort.parseList("a:1,,b:2"))
        .hasMessageContaining("has an empty element");
    assertThatThrownBy(() -> HostPort.parseList("a:1,b")).hasMessageContaining("'b' has no port");
  }

  @Test
  void resolvesToASocketAddress() {
    assertThat(HostPort.of("127.0.0.1", 2379).toSocketAddress().getAddress().isLoopbackAddress())
        .isTrue();
    assertThat(HostPort.of("127.0.0.1", 2379).toSocketAddress().getPort()).isEqualTo(2379);
  }
}
