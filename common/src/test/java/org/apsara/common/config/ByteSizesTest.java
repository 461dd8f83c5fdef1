package org.apsara.common.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ByteSizesTest {
  @Test
  void parsesPlainBytesAndPowersOf1024() {
    assertThat(ByteSizes.parse("x", "1024")).isEqualTo(1024);
    assertThat(ByteSizes.parse("x", "64K")).isEqualTo(64L << 10);
    assertThat(ByteSizes.parse("x", "64MiB")).isEqualTo(64L << 20);
    assertThat(ByteSizes.parse("x", "64mb")).isEqualTo(64L << 20);
    assertThat(ByteSizes.parse("x", " 2g ")).isEqualTo(2L << 30);
    assertThat(ByteSizes.parse("x", "1T")).isEqualTo(1L << 40);
  }

  @Test
  void refusesWhatIsNotASizeNamingTheSetting() {
    assertThatThrownBy(() -> ByteSizes.parse("volume.1.capacity", "lots"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("volume.1.capacity = 'lots' is not a size");
    assertThatThrownBy(() -> ByteSizes.parse("x", "-1")).hasMessageContaining("is not a size");
    assertThatThrownBy(() -> ByteSizes.parse("x", "9999999999T"))
        .hasMessageContaining("is too large");
  }

  @Test
  void formatsInTheLargestUnit() {
    assertThat(ByteSizes.format(512)).isEqualTo("512 B");
    assertThat(ByteSizes.format(1536)).isEqualTo("1.5 KiB");
    assertThat(ByteSizes.format(3L << 30)).isEqualTo("3.0 GiB");
  }
}
