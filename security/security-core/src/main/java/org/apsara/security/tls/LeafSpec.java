package org.apsara.security.tls;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * What a leaf certificate of the cluster CA is for: a service name (its file names and common
 * name), the DNS names and IP addresses it may be reached at (its subject alternative names), and
 * how long it is valid. Every leaf may serve (serverAuth) and call (clientAuth).
 *
 * <p>Immutable and thread-safe.
 *
 * @param name the service's name: letters, digits, {@code .}, {@code _} and {@code -}, starting
 *     with a letter or digit, at most {@link #NAME_LENGTH_MAX} characters
 * @param dnsNames DNS names the certificate is valid for
 * @param ipAddresses IP addresses the certificate is valid for
 * @param validity how long from its issue the certificate is valid
 */
public record LeafSpec(String name, List<String> dnsNames, List<InetAddress> ipAddresses,
    Duration validity) {
  /** Longest service name: it becomes file names and the certificate's common name. */
  public static final int NAME_LENGTH_MAX = 64;
  /** Most subject alternative names (DNS names and IP addresses together) of one certificate. */
  public static final int SUBJECT_ALT_NAMES_MAX = 100;
  /** Default validity of a leaf certificate. */
  public static final Duration VALIDITY_DEFAULT = Duration.ofDays(365);

  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");
  private static final Pattern DNS_NAME = Pattern.compile(
      "(\\*\\.)?[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
          + "(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*");
  private static final int DNS_NAME_LENGTH_MAX = 253;
  private static final Pattern IPV4_LITERAL = Pattern.compile("[0-9]{1,3}(\\.[0-9]{1,3}){3}");

  /** Checks and copies the parts. */
  public LeafSpec {
    Objects.requireNonNull(name, "name");
    if (name.length() > NAME_LENGTH_MAX || !NAME.matcher(name).matches()) {
      throw new IllegalArgumentException("certificate name \"" + name + "\" must be 1 to "
          + NAME_LENGTH_MAX + " letters, digits, '.', '_' or '-', starting with a letter or digit");
    }
    dnsNames = List.copyOf(dnsNames);
    ipAddresses = List.copyOf(ipAddresses);
    for (String dnsName : dnsNames) {
      if (dnsName.length() > DNS_NAME_LENGTH_MAX || !DNS_NAME.matcher(dnsName).matches()) {
        throw new IllegalArgumentException("\"" + dnsName + "\" is not a DNS name");
      }
    }
    if (dnsNames.isEmpty() && ipAddresses.isEmpty()) {
      throw new IllegalArgumentException("certificate " + name
          + " needs at least one DNS name or IP address");
    }
    if (dnsNames.size() + ipAddresses.size() > SUBJECT_ALT_NAMES_MAX) {
      throw new IllegalArgumentException("certificate " + name + " has "
          + (dnsNames.size() + ipAddresses.size()) + " names, more than "
          + SUBJECT_ALT_NAMES_MAX);
    }
    Objects.requireNonNull(validity, "validity");
    if (validity.isNegative() || validity.isZero()) {
      throw new IllegalArgumentException("certificate validity must be positive, got " + validity);
    }
  }

  /**
   * A spec from host names as a user writes them: IP literals (IPv4, or IPv6 with or without
   * brackets) become IP addresses, anything else a DNS name. Duplicates are dropped; nothing is
   * resolved.
   */
  public static LeafSpec forHosts(String name, Collection<String> hosts, Duration validity) {
    LinkedHashSet<String> dnsNames = new LinkedHashSet<>();
    LinkedHashSet<InetAddress> addresses = new LinkedHashSet<>();
    for (String host : hosts) {
      String trimmed = host.trim();
      if (trimmed.isEmpty()) {
        continue;
      }
      InetAddress literal = parseIpLiteral(trimmed);
      if (literal != null) {
        addresses.add(literal);
      } else {
        dnsNames.add(trimmed.toLowerCase(java.util.Locale.ROOT));
      }
    }
    return new LeafSpec(name, new ArrayList<>(dnsNames), new ArrayList<>(addresses), validity);
  }

  /** The address an IPv4 or IPv6 literal stands for, or {@code null} if it is not one. */
  static InetAddress parseIpLiteral(String host) {
    String bare = host.startsWith("[") && host.endsWith("]")
        ? host.substring(1, host.length() - 1) : host;
    boolean literal = IPV4_LITERAL.matcher(bare).matches()
        || (bare.contains(":") && bare.matches("[0-9A-Fa-f:.%a-zA-Z0-9]+"));
    if (!literal) {
      return null;
    }
    if (!bare.contains(":")) {
      for (String octet : bare.split("\\.")) {
        if (Integer.parseInt(octet) > 255) {
          // Refused here: getByName would take it for a host name and look it up.
          throw new IllegalArgumentException("\"" + host + "\" is not a valid IPv4 address");
        }
      }
    }
    try {
      // A literal is parsed, never looked up.
      return InetAddress.getByName(bare);
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException("\"" + host + "\" is not a valid IP address", e);
    }
  }
}
