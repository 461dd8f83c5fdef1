package org.apsara.nuwa.client;

import java.util.Objects;

/**
 * One server address the client may talk to, parsed from {@code host:port}, {@code [v6]:port},
 * {@code http://host:port} or {@code https://host:port} (the forms etcd prints in its client
 * URLs). Whether TLS is used is the client's setting; {@link #scheme} tells what a text asked for.
 */
record Endpoint(String host, int port) {
  Endpoint {
    Objects.requireNonNull(host, "host");
    if (host.isEmpty()) {
      throw new IllegalArgumentException("endpoint host is empty");
    }
    if (port < 1 || port > 65_535) {
      throw new IllegalArgumentException("endpoint port out of range: " + port);
    }
  }

  static Endpoint parse(String text) {
    Objects.requireNonNull(text, "endpoint");
    String rest = text.trim();
    String scheme = scheme(rest);
    if (!scheme.isEmpty()) {
      rest = rest.substring(scheme.length() + "://".length());
    }
    if (rest.endsWith("/")) {
      rest = rest.substring(0, rest.length() - 1);
    }
    String host;
    String port;
    if (rest.startsWith("[")) {
      int close = rest.indexOf(']');
      if (close < 0 || close + 1 >= rest.length() || rest.charAt(close + 1) != ':') {
        throw new IllegalArgumentException("expected [address]:port, got " + text);
      }
      host = rest.substring(1, close);
      port = rest.substring(close + 2);
    } else {
      int colon = rest.lastIndexOf(':');
      if (colon < 0 || rest.indexOf(':') != colon) {
        throw new IllegalArgumentException("expected host:port, got " + text);
      }
      host = rest.substring(0, colon);
      port = rest.substring(colon + 1);
    }
    try {
      return new Endpoint(host, Integer.parseInt(port));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("bad port in endpoint " + text, e);
    }
  }

  /**
   * {@code "http"} or {@code "https"} if {@code text} starts with that scheme, {@code ""} if it
   * names none.
   *
   * @throws IllegalArgumentException for any other scheme
   */
  static String scheme(String text) {
    String trimmed = text.trim();
    int separator = trimmed.indexOf("://");
    if (separator < 0) {
      return "";
    }
    String scheme = trimmed.substring(0, separator);
    if (!scheme.equals("http") && !scheme.equals("https")) {
      throw new IllegalArgumentException("unsupported scheme " + scheme + " in endpoint " + text
          + "; use http://, https:// or none");
    }
    return scheme;
  }

  /** {@code host:port}, bracketing an IPv6 literal. */
  String authority() {
    return host.indexOf(':') >= 0 ? "[" + host + "]:" + port : host + ":" + port;
  }

  @Override
  public String toString() {
    return authority();
  }
}
