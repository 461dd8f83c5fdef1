package org.apsara.common.json;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JsonReaderTest {
  @Test
  void readsEveryKindOfValue() {
    assertThat(JsonReader.parseObject(
            "{\"s\":\"a\\u0041\",\"n\":-12,\"d\":1.5e2,\"b\":true,\"z\":null,\"l\":[1,{}]}"))
        .containsEntry("s", "aA").containsEntry("n", -12L).containsEntry("d", 150.0)
        .containsEntry("b", true).containsEntry("z", null)
        .containsEntry("l", List.of(1L, Map.of()));
  }

  @Test
  void refusesNestingBeyondTheLimitButAcceptsItsEdge() {
    String atLimit = "[".repeat(JsonReader.MAX_DEPTH) + "]".repeat(JsonReader.MAX_DEPTH);
    assertThat(JsonReader.parse(atLimit)).isInstanceOf(List.class);

    String tooDeep = "[".repeat(JsonReader.MAX_DEPTH + 1) + "]".repeat(JsonReader.MAX_DEPTH + 1);
    assertThatThrownBy(() -> JsonReader.parse(tooDeep))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("nested deeper than " + JsonReader.MAX_DEPTH);
  }

  @Test
  void refusesWhatALenientParserWouldAccept() {
    for (String bad : new String[] {"", "{\"a\":1,\"a\":2}", "{} x", "\"\t\"", "[1,]", "01"}) {
      assertThatThrownBy(() -> JsonReader.parse(bad)).as(bad)
          .isInstanceOf(IllegalArgumentException.class);
    }
  }
}
