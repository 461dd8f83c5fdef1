package org.apsara.nuwa.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import org.junit.jupiter.api.Test;

class KeyRangeTest {
  private static ByteString bytes(int... values) {
    byte[] b = new byte[values.length];
    for (int i = 0; i < values.length; i++) {
      b[i] = (byte) values[i];
    }
    return ByteString.copyFrom(b);
  }

  @Test
  void prefixEndIncrementsTheLastByteThatCanBeIncremented() {
    assertThat(KeyRange.prefixEnd(ByteString.copyFromUtf8("abc")))
        .isEqualTo(ByteString.copyFromUtf8("abd"));
    assertThat(KeyRange.prefixEnd(bytes('a', 0xff))).isEqualTo(bytes('b'));
    assertThat(KeyRange.prefixEnd(bytes('a', 0xfe, 0xff, 0xff))).isEqualTo(bytes('a', 0xff));
    assertThat(KeyRange.prefixEnd(bytes(0xff, 0xff))).isEqualTo(bytes(0));
  }

  @Test
  void emptyPrefixMeansEveryKey() {
    assertThat(KeyRange.prefix("")).isEqualTo(KeyRange.all());
    assertThat(KeyRange.all().key()).isEqualTo(bytes(0));
    assertThat(KeyRange.all().rangeEnd()).isEqualTo(bytes(0));
  }

  @Test
  void containsFollowsUnsignedByteOrder() {
    KeyRange prefix = KeyRange.prefix("dir/");
    assertThat(prefix.contains(ByteString.copyFromUtf8("dir/a"))).isTrue();
    assertThat(prefix.contains(ByteString.copyFromUtf8("dir/"))).isTrue();
    assertThat(prefix.contains(ByteString.copyFromUtf8("dir0"))).isFalse();
    assertThat(prefix.contains(ByteString.copyFromUtf8("dir"))).isFalse();

    KeyRange high = KeyRange.prefix(bytes(0x7f));
    assertThat(high.contains(bytes(0x7f, 0x80))).isTrue();
    assertThat(high.contains(bytes(0x80))).isFalse();

    KeyRange from = KeyRange.atLeast("m");
    assertThat(from.contains(bytes(0xff, 0xff))).isTrue();
    assertThat(from.contains(ByteString.copyFromUtf8("l"))).isFalse();

    assertThat(KeyRange.key("k").contains(ByteString.copyFromUtf8("k"))).isTrue();
    assertThat(KeyRange.key("k").contains(ByteString.copyFromUtf8("k2"))).isFalse();
  }

  @Test
  void emptyKeysAreRejected() {
    assertThatThrownBy(() -> KeyRange.key("")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> KeyRange.between("", "b"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> KeyRange.atLeast("")).isInstanceOf(IllegalArgumentException.class);
  }
}
