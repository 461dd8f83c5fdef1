package org.apsara.common.net;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * A validated network endpoint: a host name, IPv4 address or IPv6 address, and a TCP port.
 *
 * <p>The text form is {@code host:port}; an IPv6 address is always written in brackets, as in
 * {@code [::1]:2379}, because its own colons would otherwise make the port ambiguous. The host is
 * stored without brackets. Port 0 is allowed and means "any free port" when binding.
 *
 * <p>Instances are immutable and can only hold valid values: the constructor and every parse method
 * throw {@link IllegalArgumentException} with a message that names the offending input and says
 * what is expected. No name resolution happens until {@link #toSocketAddress()} is called.
 *
 * @param host a DNS name, an IPv4 address in dotted form, or an IPv6 address (brackets optional)
 * @param port 0 to 65535
 */
public record HostPort(String host, int port) {
  /** The largest TCP port number. */
  public static final int PORT_MAX = 65_535;

  /** RFC 1035: a full DNS name is at most 253 characters in text form. */
  private static final int HOST_NAME_LENGTH_MAX = 253;

  /** RFC 1035: a single label of a DNS name is at most 63 characters. */
  private static final int LABEL_LENGTH_MAX = 63;

  /** Marks "no default port" internally; never a valid port. */
  private static final int NO_DEFAULT_PORT = -1;

  /** An IPv6 address has 8 groups of 16 bits. */
  private static final int IPV6_GROUPS = 8;

  public HostPort {
    if (host == null) {
      throw new IllegalArgumentException("host must not be null");
    }
    if (host.length() >= 2 && host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
      if (!host.contains(":")) {
        throw new IllegalArgumentException(
            "brackets are only allowed around an IPv6 address, got '[" + host + "]'");
      }
    }
    validateHost(host);
    validatePort(port, "port");
  }

  /** Same as the constructor; reads better at call sites. */
  public static HostPort of(String host, int port) {
    return new HostPort(host, port);
  }

  /**
   * Parses {@code host:port} or {@code [ipv6]:port}.
   *
   * @throws IllegalArgumentException if the text is not a valid endpoint; the message says why
   */
  public static HostPort parse(String text) {
    return parse(text, NO_DEFAULT_PORT, true);
  }

  /**
   * Parses {@code host:port}, {@code [ipv6]:port}, or, when the port is left out, {@code host} or
   * {@code [ipv6]} with {@code defaultPort}.
   *
   * @throws IllegalArgumentException if the text is not a valid endpoint; the message says why
   */
  public static HostPort parse(String text, int defaultPort) {
    validatePort(defaultPort, "default port");
    return parse(text, defaultPort, false);
  }

  private static HostPort parse(String text, int defaultPort, boolean portRequired) {
    if (text == null || text.isEmpty()) {
      throw new IllegalArgumentException("empty address: expected host:port");
    }
    for (int i = 0; i < text.length(); i++) {
      if (Character.isWhitespace(text.charAt(i))) {
        throw new IllegalArgumentException(
            "address '" + text + "' contains whitespace: expected host:port");
      }
    }
    String host;
    String portText;
    if (text.startsWith("[")) {
      int close = text.indexOf(']');
      if (close < 0) {
        throw new IllegalArgumentException("address '" + text + "' has '[' without a matching ']'");
      }
      host = text.substring(1, close);
      if (host.isEmpty()) {
        throw new IllegalArgumentException("address '" + text + "' has an empty IPv6 address");
      }
      if (!host.contains(":")) {
        throw new IllegalArgumentException(
            "address '" + text + "': brackets are only allowed around an IPv6 address");
      }
      String rest = text.substring(close + 1);
      if (rest.isEmpty()) {
        portText = null;
      } else if (rest.startsWith(":")) {
        portText = rest.substring(1);
      } else {
        throw new IllegalArgumentException(
            "address '" + text + "': expected ':port' after ']', got '" + rest + "'");
      }
    } else {
      if (text.indexOf(']') >= 0) {
        throw new IllegalArgumentException("address '" + text + "' has ']' without a matching '['");
      }
      int first = text.indexOf(':');
      int last = text.lastIndexOf(':');
      if (first != last) {
        throw new IllegalArgumentException(
            "address '" + text + "': an IPv6 address must be enclosed in brackets, e.g. [::1]:2379");
      }
      if (first < 0) {
        host = text;
        portText = null;
      } else {
        host = text.substring(0, first);
        portText = text.substring(first + 1);
      }
      if (host.isEmpty()) {
        throw new IllegalArgumentException("address '" + text + "' has no host: expected host:port");
      }
    }
    int port;
    if (portText == null) {
      if (portRequired) {
        throw new IllegalArgumentException("address '" + text + "' has no port: expected host:port");
      }
      port = defaultPort;
    } else {
      port = parsePort(portText, text);
    }
    try {
      return new HostPort(host, port);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("address '" + text + "': " + e.getMessage(), e);
    }
  }

  /**
   * Parses a comma-separated list such as {@code "10.0.0.1:2379, 10.0.0.2:2379"}; spaces around
   * the commas are ignored.
   *
   * @throws IllegalArgumentException if the list is empty or any element is invalid
   */
  public static List<HostPort> parseList(String commaSeparated) {
    if (commaSeparated == null || commaSeparated.isBlank()) {
      throw new IllegalArgumentException("empty address list: expected host:port[,host:port...]");
    }
    List<HostPort> endpoints = new ArrayList<>();
    for (String element : commaSeparated.split(",", -1)) {
      String trimmed = element.strip();
      if (trimmed.isEmpty()) {
        throw new IllegalArgumentException(
            "address list '" + commaSeparated + "' has an empty element");
      }
      endpoints.add(parse(trimmed));
    }
    return List.copyOf(endpoints);
  }

  /** True if the host is an IPv6 address (and is therefore written in brackets). */
  public boolean isIpv6() {
    return host.indexOf(':') >= 0;
  }

  /** The text form, {@code host:port} or {@code [ipv6]:port}; {@link #parse} reads it back. */
  public String format() {
    return isIpv6() ? "[" + host + "]:" + port : host + ":" + port;
  }

  /** A socket address; resolves the host name (which may block on DNS). */
  public InetSocketAddress toSocketAddress() {
    return new InetSocketAddress(host, port);
  }

  @Override
  public String toString() {
    return format();
  }

  private static int parsePort(String portText, String wholeText) {
    if (portText.isEmpty()) {
      throw new IllegalArgumentException(
          "address '" + wholeText + "' has an empty port: expected host:port");
    }
    // Only plain digits: Integer.parseInt would also accept '+80', and a long digit string
    // would overflow before the range check could name it.
    if (portText.length() > 5 || !portText.chars().allMatch(c -> c >= '0' && c <= '9')) {
      throw new IllegalArgumentException(
          "address '" + wholeText + "': port '" + portText + "' is not a number from 0 to "
              + PORT_MAX);
    }
    int port = Integer.parseInt(portText);
    if (port > PORT_MAX) {
      throw new IllegalArgumentException(
          "address '" + wholeText + "': port " + port + " is out of range 0.." + PORT_MAX);
    }
    return port;
  }

  private static void validatePort(int port, String what) {
    if (port < 0 || port > PORT_MAX) {
      throw new IllegalArgumentException(what + " " + port + " is out of range 0.." + PORT_MAX);
    }
  }

  private static void validateHost(String host) {
    if (host.isEmpty()) {
      throw new IllegalArgumentException("host must not be empty");
    }
    if (host.indexOf(':') >= 0) {
      validateIpv6(host);
    } else {
      validateHostName(host);
    }
  }

  private static void validateHostName(String host) {
    if (host.length() > HOST_NAME_LENGTH_MAX) {
      throw new IllegalArgumentException(
          "host name is " + host.length() + " characters long, at most " + HOST_NAME_LENGTH_MAX
              + " allowed");
    }
    // A trailing dot marks a fully qualified name; it is legal.
    String name = host.endsWith(".") && host.length() > 1 ? host.substring(0, host.length() - 1)
        : host;
    String[] labels = name.split("\\.", -1);
    boolean allNumeric = true;
    for (String label : labels) {
      if (label.isEmpty()) {
        throw new IllegalArgumentException("host '" + host + "' has an empty label");
      }
      if (label.length() > LABEL_LENGTH_MAX) {
        throw new IllegalArgumentException(
            "host '" + host + "' has a label longer than " + LABEL_LENGTH_MAX + " characters");
      }
      for (int i = 0; i < label.length(); i++) {
        char c = label.charAt(i);
        boolean allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
            || c == '-' || c == '_';
        if (!allowed) {
          throw new IllegalArgumentException(
              "host '" + host + "' contains '" + c + "': only letters, digits, '-', '_' and '.'"
                  + " are allowed");
        }
        if (c < '0' || c > '9') {
          allNumeric = false;
        }
      }
      if (label.startsWith("-") || label.endsWith("-")) {
        throw new IllegalArgumentException(
            "host '" + host + "' has a label that starts or ends with '-'");
      }
    }
    // No top-level domain is all digits, so an all-numeric name can only be meant as IPv4.
    if (allNumeric) {
      if (labels.length != 4) {
        throw new IllegalArgumentException(
            "host '" + host + "' is not a valid IPv4 address: expected four numbers");
      }
      for (String label : labels) {
        if (label.length() > 3 || Integer.parseInt(label) > 255) {
          throw new IllegalArgumentException(
              "host '" + host + "' is not a valid IPv4 address: '" + label + "' is over 255");
        }
      }
    }
  }

  private static void validateIpv6(String host) {
    String address = host;
    int zone = host.indexOf('%');
    if (zone >= 0) {
      String zoneId = host.substring(zone + 1);
      if (zoneId.isEmpty() || !zoneId.chars().allMatch(c -> Character.isLetterOrDigit(c)
          || c == '-' || c == '_' || c == '.')) {
        throw new IllegalArgumentException("IPv6 address '" + host + "' has an invalid zone id");
      }
      address = host.substring(0, zone);
    }
    String invalid = "'" + host + "' is not a valid IPv6 address";
    int doubleColon = address.indexOf("::");
    if (doubleColon >= 0 && address.indexOf("::", doubleColon + 1) >= 0) {
      throw new IllegalArgumentException(invalid + ": '::' may appear only once");
    }
    int groups;
    if (doubleColon >= 0) {
      String head = address.substring(0, doubleColon);
      String tail = address.substring(doubleColon + 2);
      groups = countIpv6Groups(head, false, invalid) + countIpv6Groups(tail, true, invalid);
      if (groups > IPV6_GROUPS - 1) {
        throw new IllegalArgumentException(invalid + ": too many groups");
      }
    } else {
      groups = countIpv6Groups(address, true, invalid);
      if (groups != IPV6_GROUPS) {
        throw new IllegalArgumentException(invalid + ": expected 8 groups or '::'");
      }
    }
  }

  /** Counts 16-bit groups in a colon-separated run; an embedded IPv4 tail counts as two. */
  private static int countIpv6Groups(String run, boolean ipv4TailAllowed, String invalid) {
    if (run.isEmpty()) {
      return 0;
    }
    String[] parts = run.split(":", -1);
    int groups = 0;
    for (int i = 0; i < parts.length; i++) {
      String part = parts[i];
      boolean last = i == parts.length - 1;
      if (last && ipv4TailAllowed && part.indexOf('.') >= 0) {
        try {
          validateHostName(part);
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException(invalid + ": bad embedded IPv4 part", e);
        }
        if (!part.chars().allMatch(c -> c == '.' || (c >= '0' && c <= '9'))) {
          throw new IllegalArgumentException(invalid + ": bad embedded IPv4 part");
        }
        groups += 2;
        continue;
      }
      if (part.isEmpty() || part.length() > 4
          || !part.chars().allMatch(c -> Character.digit(c, 16) >= 0 && c < 128)) {
        throw new IllegalArgumentException(invalid + ": bad group '" + part + "'");
      }
      groups++;
    }
    return groups;
  }
}
