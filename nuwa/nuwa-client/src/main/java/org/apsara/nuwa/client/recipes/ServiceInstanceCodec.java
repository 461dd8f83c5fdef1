package org.apsara.nuwa.client.recipes;

import com.google.protobuf.ByteString;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The value stored for a registered instance: a small JSON object, readable with {@code etcdctl
 * get} and by any language's JSON parser:
 *
 * <pre>{"address":"10.0.0.7:8080","metadata":{"version":"1.4","zone":"a"}}</pre>
 *
 * <p>The service and instance ID are not repeated in the value: they are the key. A reader ignores
 * members it does not know, so that later versions can add some. Only what this format needs of
 * JSON is parsed: objects whose members are strings or objects of strings.
 */
final class ServiceInstanceCodec {
  /** Largest value accepted when decoding; registrations are small. */
  static final int MAX_VALUE_BYTES = 64 * 1024;

  private ServiceInstanceCodec() {}

  static ByteString encode(ServiceInstance instance) {
    StringBuilder out = new StringBuilder();
    out.append("{\"address\":");
    string(out, instance.address());
    out.append(",\"metadata\":{");
    boolean first = true;
    for (Map.Entry<String, String> e : instance.metadata().entrySet()) {
      if (!first) {
        out.append(',');
      }
      first = false;
      string(out, e.getKey());
      out.append(':');
      string(out, e.getValue());
    }
    out.append("}}");
    return ByteString.copyFromUtf8(out.toString());
  }

  /** Decodes a value; throws {@link IllegalArgumentException} if it is not in this format. */
  static ServiceInstance decode(String service, String instanceId, ByteString value) {
    if (value.size() > MAX_VALUE_BYTES) {
      throw new IllegalArgumentException(
          "registration value too large: " + value.size() + " bytes");
    }
    Parser parser = new Parser(value.toStringUtf8());
    Map<String, Object> object = parser.object();
    parser.end();
    if (!(object.get("address") instanceof String address)) {
      throw new IllegalArgumentException("registration has no address");
    }
    Map<String, String> metadata = new LinkedHashMap<>();
    Object rawMetadata = object.get("metadata");
    if (rawMetadata != null) {
      if (!(rawMetadata instanceof Map<?, ?> map)) {
        throw new IllegalArgumentException("metadata is not an object");
      }
      for (Map.Entry<?, ?> e : map.entrySet()) {
        if (!(e.getValue() instanceof String s)) {
          throw new IllegalArgumentException(
              "metadata value of " + e.getKey() + " is not a string");
        }
        metadata.put((String) e.getKey(), s);
      }
    }
    return new ServiceInstance(service, instanceId, address, metadata);
  }

  private static void string(StringBuilder out, String s) {
    out.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        default -> {
          if (c < 0x20) {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
        }
      }
    }
    out.append('"');
  }

  /** A recursive-descent parser for the JSON subset above. */
  private static final class Parser {
    /** Objects nest at most this deep (the format needs two levels). */
    private static final int MAX_DEPTH = 8;

    private final String text;
    private int pos;
    private int depth;

    Parser(String text) {
      this.text = text;
    }

    Map<String, Object> object() {
      if (++depth > MAX_DEPTH) {
        throw error("objects nested too deep");
      }
      skipSpace();
      expect('{');
      Map<String, Object> members = new LinkedHashMap<>();
      skipSpace();
      if (peek() == '}') {
        pos++;
        depth--;
        return members;
      }
      while (true) {
        skipSpace();
        String name = string();
        skipSpace();
        expect(':');
        skipSpace();
        Object value = peek() == '{' ? object() : string();
        if (members.put(name, value) != null) {
          throw error("duplicate member " + name);
        }
        skipSpace();
        char next = next();
        if (next == '}') {
          depth--;
          return members;
        }
        if (next != ',') {
          throw error("expected ',' or '}'");
        }
      }
    }

    void end() {
      skipSpace();
      if (pos != text.length()) {
        throw error("trailing characters");
      }
    }

    private String string() {
      expect('"');
      StringBuilder out = new StringBuilder();
      while (true) {
        char c = next();
        if (c == '"') {
          return out.toString();
        }
        if (c != '\\') {
          if (c < 0x20) {
            throw error("control character in string");
          }
          out.append(c);
          continue;
        }
        char escaped = next();
        switch (escaped) {
          case '"', '\\', '/' -> out.append(escaped);
          case 'b' -> out.append('\b');
          case 'f' -> out.append('\f');
          case 'n' -> out.append('\n');
          case 'r' -> out.append('\r');
          case 't' -> out.append('\t');
          case 'u' -> {
            if (pos + 4 > text.length()) {
              throw error("short unicode escape");
            }
            try {
              out.append((char) Integer.parseInt(text.substring(pos, pos + 4), 16));
            } catch (NumberFormatException e) {
              throw error("bad unicode escape");
            }
            pos += 4;
          }
          default -> throw error("bad escape \\" + escaped);
        }
      }
    }

    private void skipSpace() {
      while (pos < text.length() && " \t\n\r".indexOf(text.charAt(pos)) >= 0) {
        pos++;
      }
    }

    private char peek() {
      if (pos >= text.length()) {
        throw error("unexpected end");
      }
      return text.charAt(pos);
    }

    private char next() {
      char c = peek();
      pos++;
      return c;
    }

    private void expect(char c) {
      if (next() != c) {
        throw error("expected '" + c + "'");
      }
    }

    private IllegalArgumentException error(String what) {
      return new IllegalArgumentException("bad registration value at " + pos + ": " + what);
    }
  }
}
