package org.apsara.security.policy;

import java.util.Arrays;

/**
 * An IPv4 or IPv6 CIDR block, such as {@code 10.0.0.0/8} or {@code 2001:db8::/32}; a bare address
 * is a block of one address. Host bits set below the prefix are ignored ({@code 10.1.2.3/8} is
 * {@code 10.0.0.0/8}).
 *
 * <p>Addresses are parsed here rather than with {@link java.net.InetAddress}, which resolves host
 * names through DNS and accepts ambiguous IPv4 forms such as {@code 127.1}. IPv4 must be four
 * decimal parts without leading zeros; IPv6 is the RFC 4291 text form, with an optional trailing
 * IPv4 part, and without a zone ({@code %eth0}). Immutable and thread-safe.
 */
final class IpBlock {
  private static final int IPV4_BYTES = 4;
  private static final int IPV6_BYTES = 16;
  private static final int IPV6_GROUPS = 8;

  private final byte[] network;
  private final int prefixLength;

  private IpBlock(byte[] network, int prefixLength) {
    this.network = network;
    this.prefixLength = prefixLength;
  }

  /**
   * Parses a block written in a policy.
   *
   * @throws IllegalArgumentException saying what is wrong with {@code text}
   */
  static IpBlock parse(String text) {
    int slash = text.indexOf('/');
    String addressText = slash < 0 ? text : text.substring(0, slash);
    byte[] address = parseAddress(addressText);
    if (isIpv4Mapped(address)) {
      // A request from such an address is matched as IPv4 (see parseClientAddress), so a block
      // written this way would never match; ask for the form that does.
      throw new IllegalArgumentException("write IPv4-mapped addresses in IPv4 form");
    }
    int maxPrefix = address.length * 8;
    int prefix = maxPrefix;
    if (slash >= 0) {
      String prefixText = text.substring(slash + 1);
      if (!isDecimal(prefixText, 3)) {
        throw new IllegalArgumentException("prefix length \"" + prefixText + "\" is not a number");
      }
      prefix = Integer.parseInt(prefixText);
      if (prefix > maxPrefix) {
        throw new IllegalArgumentException(
            "prefix length " + prefix + " is larger than " + maxPrefix);
      }
    }
    return new IpBlock(mask(address, prefix), prefix);
  }

  /**
   * Parses the client address of a request. An IPv4-mapped IPv6 address ({@code
   * ::ffff:10.1.2.3}), as a dual-stack socket may report, is returned as the IPv4 address it
   * carries, so that IPv4 blocks match it.
   *
   * @return 4 or 16 bytes, or {@code null} if {@code text} is not an address
   */
  static byte[] parseClientAddress(String text) {
    byte[] address;
    try {
      address = parseAddress(text);
    } catch (IllegalArgumentException e) {
      return null;
    }
    return isIpv4Mapped(address) ? Arrays.copyOfRange(address, 12, IPV6_BYTES) : address;
  }

  /**
   * Whether {@code address} (4 or 16 bytes) lies in this block; IPv4 and IPv6 never match each
   * other.
   */
  boolean contains(byte[] address) {
    return address.length == network.length && Arrays.equals(mask(address, prefixLength), network);
  }

  private static byte[] mask(byte[] address, int prefix) {
    byte[] masked = address.clone();
    for (int i = 0; i < masked.length; i++) {
      int bitsKept = Math.max(0, Math.min(8, prefix - 8 * i));
      masked[i] &= (byte) (0xff << (8 - bitsKept));
    }
    return masked;
  }

  private static byte[] parseAddress(String text) {
    if (text.indexOf(':') >= 0) {
      return parseIpv6(text);
    }
    byte[] ipv4 = parseIpv4(text);
    if (ipv4 == null) {
      throw new IllegalArgumentException("not an IPv4 or IPv6 address");
    }
    return ipv4;
  }

  /** Returns 4 bytes, or {@code null} if {@code text} is not a dotted-quad IPv4 address. */
  private static byte[] parseIpv4(String text) {
    String[] parts = text.split("\\.", -1);
    if (parts.length != IPV4_BYTES) {
      return null;
    }
    byte[] address = new byte[IPV4_BYTES];
    for (int i = 0; i < IPV4_BYTES; i++) {
      String part = parts[i];
      // A leading zero is refused because some parsers read it as octal.
      if (!isDecimal(part, 3) || (part.length() > 1 && part.charAt(0) == '0')) {
        return null;
      }
      int value = Integer.parseInt(part);
      if (value > 255) {
        return null;
      }
      address[i] = (byte) value;
    }
    return address;
  }

  private static byte[] parseIpv6(String text) {
    int gap = text.indexOf("::");
    if (gap >= 0 && text.indexOf("::", gap + 1) >= 0) {
      throw new IllegalArgumentException("not an IPv6 address: \"::\" appears more than once");
    }
    int[] head = parseGroups(gap < 0 ? text : text.substring(0, gap), gap < 0);
    int[] tail = gap < 0 ? new int[0] : parseGroups(text.substring(gap + 2), true);
    int given = head.length + tail.length;
    if (gap < 0 ? given != IPV6_GROUPS : given >= IPV6_GROUPS) {
      throw new IllegalArgumentException("not an IPv6 address: wrong number of groups");
    }
    byte[] address = new byte[IPV6_BYTES];
    for (int i = 0; i < head.length; i++) {
      putGroup(address, i, head[i]);
    }
    for (int i = 0; i < tail.length; i++) {
      putGroup(address, IPV6_GROUPS - tail.length + i, tail[i]);
    }
    return address;
  }

  /**
   * Parses colon-separated 16-bit hex groups; if {@code ipv4AllowedLast}, the last part may be a
   * dotted-quad IPv4 address, which counts as two groups.
   */
  private static int[] parseGroups(String text, boolean ipv4AllowedLast) {
    if (text.isEmpty()) {
      return new int[0];
    }
    String[] parts = text.split(":", -1);
    int[] groups = new int[parts.length + 1];
    int count = 0;
    for (int i = 0; i < parts.length; i++) {
      String part = parts[i];
      if (ipv4AllowedLast && i == parts.length - 1 && part.indexOf('.') >= 0) {
        byte[] ipv4 = parseIpv4(part);
        if (ipv4 == null) {
          throw new IllegalArgumentException("not an IPv6 address: bad IPv4 part \"" + part + "\"");
        }
        groups[count++] = ((ipv4[0] & 0xff) << 8) | (ipv4[1] & 0xff);
        groups[count++] = ((ipv4[2] & 0xff) << 8) | (ipv4[3] & 0xff);
      } else if (part.isEmpty() || part.length() > 4 || !isHex(part)) {
        throw new IllegalArgumentException("not an IPv6 address: bad group \"" + part + "\"");
      } else {
        groups[count++] = Integer.parseInt(part, 16);
      }
    }
    return Arrays.copyOf(groups, count);
  }

  private static void putGroup(byte[] address, int group, int value) {
    address[2 * group] = (byte) (value >>> 8);
    address[2 * group + 1] = (byte) value;
  }

  private static boolean isIpv4Mapped(byte[] address) {
    if (address.length != IPV6_BYTES) {
      return false;
    }
    for (int i = 0; i < 10; i++) {
      if (address[i] != 0) {
        return false;
      }
    }
    return address[10] == (byte) 0xff && address[11] == (byte) 0xff;
  }

  private static boolean isDecimal(String text, int maxDigits) {
    if (text.isEmpty() || text.length() > maxDigits) {
      return false;
    }
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c < '0' || c > '9') {
        return false;
      }
    }
    return true;
  }

  private static boolean isHex(String text) {
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
        return false;
      }
    }
    return true;
  }
}
