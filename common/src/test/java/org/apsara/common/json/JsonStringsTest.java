package org.apsara.common.json;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class JsonStringsTest {
  @Test
  void escapesQuotesBackslashesAndControlCharacters() {
    String nasty = "a\"b\\c\nd\re\tf\bg\fh\u0000i\u001fj\u2028k";
    String quoted = JsonStrings.quote(nasty);
    assertThat(quoted).doesNotContain("\n", "\r", "\u0000", "\u2028");
    assertThat(quoted)
        .isEqualTo("\"a\\\"b\\\\c\\nd\\re\\tf\\bg\\fh\\u0000i\\u001fj\\u2028k\"");
    assertThat(JsonReader.parse(quoted)).isEqualTo(nasty);
  }

  @Test
  void keepsValidSurrogatePairsAndEscapesLoneSurrogates() {
    String emoji = "\uD83D\uDE00";
    assertThat(JsonStrings.quote(emoji)).isEqualTo("\"" + emoji + "\"");
    assertThat(JsonStrings.quote("x\uD83Dy")).isEqualTo("\"x\\ud83dy\"");
    assertThat(JsonStrings.quote("x\uDE00")).isEqualTo("\"x\\ude00\"");
    assertThat(JsonReader.parse(JsonStrings.quote("x\uD83Dy"))).isEqualTo("x\uD83Dy");
  }

  @Test
  void nullBecomesTheNullLiteral() {
    assertThat(JsonStrings.quote(null)).isEqualTo("null");
    StringBuilder out = new StringBuilder();
    JsonStrings.appendQuoted(out, null);
    assertThat(out).hasToString("null");
  }

  @Test
  void plainTextAndUnicodePassThrough() {
    assertThat(JsonStrings.quote("Nüwa 女娲 / ok")).isEqualTo("\"Nüwa 女娲 / ok\"");
  }
}
