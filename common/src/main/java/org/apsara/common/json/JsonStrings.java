package org.apsara.common.json;

/**
 * Writes JSON string literals (RFC 8259) without a JSON library, for the few places that emit
 * small JSON documents by hand: log lines and health responses.
 *
 * <p>Stateless and thread-safe.
 */
public final class JsonStrings {
  private static final char[] HEX = "0123456789abcdef".toCharArray();

  private JsonStrings() {}

  /** Returns {@code text} as a quoted JSON string literal; {@code null} becomes {@code null}. */
  public static String quote(CharSequence text) {
    if (text == null) {
      return "null";
    }
    StringBuilder out = new StringBuilder(text.length() + 2);
    appendQuoted(out, text);
    return out.toString();
  }

  /**
   * Appends {@code text} to {@code out} as a quoted JSON string literal; {@code null} is written as
   * the literal {@code null}.
   *
   * <p>Quotes, backslashes and all control characters are escaped. Lone UTF-16 surrogates are
   * escaped as {@code \\uXXXX} rather than passed through, because a UTF-8 encoder would otherwise
   * replace them with '?' and lose what was logged. U+2028 and U+2029 are escaped so that the output
   * can also be embedded in JavaScript.
   */
  public static void appendQuoted(StringBuilder out, CharSequence text) {
    if (text == null) {
      out.append("null");
      return;
    }
    out.append('"');
    int length = text.length();
    for (int i = 0; i < length; i++) {
      char c = text.charAt(i);
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        case '\b' -> out.append("\\b");
        case '\f' -> out.append("\\f");
        default -> {
          if (c < 0x20 || c == '\u2028' || c == '\u2029') {
            appendUnicodeEscape(out, c);
          } else if (Character.isHighSurrogate(c)) {
            if (i + 1 < length && Character.isLowSurrogate(text.charAt(i + 1))) {
              out.append(c).append(text.charAt(i + 1));
              i++;
            } else {
              appendUnicodeEscape(out, c);
            }
          } else if (Character.isLowSurrogate(c)) {
            appendUnicodeEscape(out, c); // a low surrogate not preceded by a high one
          } else {
            out.append(c);
          }
        }
      }
    }
    out.append('"');
  }

  private static void appendUnicodeEscape(StringBuilder out, char c) {
    out.append("\\u")
        .append(HEX[(c >> 12) & 0xF])
        .append(HEX[(c >> 8) & 0xF])
        .append(HEX[(c >> 4) & 0xF])
        .append(HEX[c & 0xF]);
  }
}
