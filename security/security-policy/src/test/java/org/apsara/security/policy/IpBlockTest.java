package org.apsara.security.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class IpBlockTest {

  @ParameterizedTest(name = "{0} contains {1}: {2}")
  @CsvSource(
      delimiter = '|',
      textBlock =
          """
          # block                | address                   | contains
          10.0.0.0/8             | 10.255.1.2                | true
          10.0.0.0/8             | 11.0.0.0                  | false
          10.1.2.3/8             | 10.9.9.9                  | true
          192.168.1.7            | 192.168.1.7               | true
          192.168.1.7            | 192.168.1.8               | false
          192.168.1.7/32         | 192.168.1.7               | true
          0.0.0.0/0              | 203.0.113.9               | true
          172.16.0.0/12          | 172.31.255.255            | true
          172.16.0.0/12          | 172.32.0.0                | false
          10.0.0.0/8             | ::ffff:10.1.2.3           | true
          10.0.0.0/8             | 2001:db8::1               | false
          2001:db8::/32          | 2001:db8:ffff::1          | true
          2001:db8::/32          | 2001:db9::1               | false
          2001:DB8::/32          | 2001:db8::1               | true
          ::/0                   | ::1                       | true
          ::/0                   | 10.0.0.1                  | false
          ::1                    | 0:0:0:0:0:0:0:1           | true
          fe80::1:2/127          | fe80::1:3                 | true
          fe80::1:2/127          | fe80::1:4                 | false
          64:ff9b::/96           | 64:ff9b::192.0.2.33       | true
          1:2:3:4:5:6:7:8/128    | 1:2:3:4:5:6:7:8           | true
          1:2:3:4:5:6:7::/112    | 1:2:3:4:5:6:7:ffff        | true
          """)
  void containsAsTabulated(String block, String address, boolean expected) {
    byte[] parsed = IpBlock.parseClientAddress(address);
    assertThat(parsed).as("address %s", address).isNotNull();
    assertThat(IpBlock.parse(block).contains(parsed)).isEqualTo(expected);
  }

  @ParameterizedTest(name = "\"{0}\": {1}")
  @CsvSource(
      delimiter = '|',
      textBlock =
          """
          # text                 | reason
          ''                     | not an IPv4 or IPv6 address
          localhost              | not an IPv4 or IPv6 address
          10.0.0                 | not an IPv4 or IPv6 address
          127.1                  | not an IPv4 or IPv6 address
          10.0.0.256             | not an IPv4 or IPv6 address
          010.0.0.1              | not an IPv4 or IPv6 address
          10.0.0.1.2             | not an IPv4 or IPv6 address
          10.0.0.0/33            | prefix length 33 is larger than 32
          10.0.0.0/              | prefix length "" is not a number
          10.0.0.0/-1            | prefix length "-1" is not a number
          10.0.0.0/8/8           | prefix length "8/8" is not a number
          2001:db8::/129         | prefix length 129 is larger than 128
          1::2::3                | not an IPv6 address: "::" appears more than once
          :::                    | not an IPv6 address: "::" appears more than once
          1:2:3:4:5:6:7          | not an IPv6 address: wrong number of groups
          1:2:3:4:5:6:7:8:9      | not an IPv6 address: wrong number of groups
          1:2:3:4:5:6:7:8::      | not an IPv6 address: wrong number of groups
          12345::                | not an IPv6 address: bad group "12345"
          g::                    | not an IPv6 address: bad group "g"
          :1::                   | not an IPv6 address: bad group ""
          fe80::1%eth0           | not an IPv6 address: bad group "1%eth0"
          1.2.3.4::              | not an IPv6 address: bad group "1.2.3.4"
          ::1.2.3.256            | not an IPv6 address: bad IPv4 part "1.2.3.256"
          ::ffff:10.0.0.0/104    | write IPv4-mapped addresses in IPv4 form
          """)
  void rejectsWithReason(String text, String reason) {
    assertThatThrownBy(() -> IpBlock.parse(text))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(reason);
  }

  @ParameterizedTest
  @CsvSource({"''", "not-an-ip", "10.0.0.0/8", "::1%lo", "1.2.3"})
  void clientAddressThatIsNotAnAddressParsesToNull(String text) {
    assertThat(IpBlock.parseClientAddress(text)).isNull();
  }
}
