package org.apsara.security.sign;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Collection;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.regex.Pattern;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The canonicalization and HMAC of Alibaba Cloud's V3 request signature ({@value #ALGORITHM}), and
 * how a gRPC call maps onto it.
 *
 * <pre>
 * CanonicalRequest = HTTPMethod \n CanonicalURI \n CanonicalQueryString \n
 *                    CanonicalHeaders \n SignedHeaders \n HashedRequestPayload
 * StringToSign     = "ACS3-HMAC-SHA256" \n hex(sha256(CanonicalRequest))
 * Signature        = hex(hmac-sha256(AccessKeySecret, StringToSign))
 * Authorization    = ACS3-HMAC-SHA256 Credential=id,SignedHeaders=a;b;c,Signature=hex
 * </pre>
 *
 * <p>A gRPC call is signed as the HTTP/2 request it is: method {@value #GRPC_HTTP_METHOD}, the
 * path {@code /<full method name>} (for example {@code /etcdserverpb.KV/Put}), an empty query, and
 * the {@code host} header taken from the call's {@code :authority}, which HTTP/2 sends in place of
 * {@code Host}. {@value #HEADER_ACTION} carries the full method name.
 *
 * <p>Stateless and thread-safe; every method is a pure function of its arguments.
 */
public final class SignatureV3 {
  /** The only signature algorithm. */
  public static final String ALGORITHM = "ACS3-HMAC-SHA256";
  /** The payload hash of calls whose body is not part of the signature. */
  public static final String UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD";
  /** The HTTP method a gRPC call is signed as: gRPC always POSTs. */
  public static final String GRPC_HTTP_METHOD = "POST";

  public static final String HEADER_AUTHORIZATION = "authorization";
  public static final String HEADER_HOST = "host";
  public static final String HEADER_ACTION = "x-acs-action";
  public static final String HEADER_DATE = "x-acs-date";
  public static final String HEADER_NONCE = "x-acs-signature-nonce";
  public static final String HEADER_CONTENT_SHA256 = "x-acs-content-sha256";
  /** Headers with this prefix must all be signed when present. */
  public static final String ACS_HEADER_PREFIX = "x-acs-";

  /** Headers every signed gRPC call must sign, in canonical (sorted) order. */
  public static final List<String> REQUIRED_SIGNED_HEADERS =
      List.of(HEADER_HOST, HEADER_ACTION, HEADER_CONTENT_SHA256, HEADER_DATE, HEADER_NONCE);

  /** Longest AccessKey id accepted. */
  public static final int ACCESS_KEY_ID_LENGTH_MAX = 64;
  /** Longest signature nonce accepted; generated nonces have 32 characters. */
  public static final int NONCE_LENGTH_MAX = 128;

  /** {@value #HEADER_DATE} is ISO 8601 in UTC with whole seconds: {@code 2023-10-26T10:22:32Z}. */
  public static final DateTimeFormatter DATE_FORMAT =
      DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss'Z'", Locale.ROOT).withZone(ZoneOffset.UTC);

  private static final HexFormat HEX = HexFormat.of();
  private static final Pattern ACCESS_KEY_ID =
      Pattern.compile("[A-Za-z0-9._-]{1," + ACCESS_KEY_ID_LENGTH_MAX + "}");
  private static final Pattern NONCE = Pattern.compile("[A-Za-z0-9_-]{1," + NONCE_LENGTH_MAX + "}");
  private static final Pattern CONTENT_SHA256 = Pattern.compile("[0-9a-f]{64}");

  private SignatureV3() {}

  /**
   * The canonical request of an HTTP request.
   *
   * @param httpMethod the method; upper-cased here
   * @param path the resource path before encoding, starting with '/' (RPC-style APIs use "/")
   * @param queryParameters the query parameters before encoding; an empty map for none
   * @param signedHeaders every signed header; names are compared case-insensitively and values are
   *     trimmed
   * @param hashedPayload hex sha256 of the body, or {@value #UNSIGNED_PAYLOAD}
   */
  public static String canonicalRequest(
      String httpMethod,
      String path,
      Map<String, String> queryParameters,
      Map<String, String> signedHeaders,
      String hashedPayload) {
    SortedMap<String, String> headers = lowerCaseSorted(signedHeaders);
    return httpMethod.toUpperCase(Locale.ROOT) + '\n'
        + canonicalUri(path) + '\n'
        + canonicalQueryString(queryParameters) + '\n'
        + canonicalHeaders(headers) + '\n'
        + signedHeaderList(headers.keySet()) + '\n'
        + hashedPayload;
  }

  /**
   * The canonical request of a gRPC call.
   *
   * @param fullMethodName for example {@code etcdserverpb.KV/Put}
   * @param signedHeaders every signed header, including {@value #HEADER_HOST} set to the authority
   * @param contentSha256 the value of {@value #HEADER_CONTENT_SHA256}
   */
  public static String grpcCanonicalRequest(
      String fullMethodName, Map<String, String> signedHeaders, String contentSha256) {
    return canonicalRequest(
        GRPC_HTTP_METHOD, "/" + fullMethodName, Map.of(), signedHeaders, contentSha256);
  }

  /** Percent-encodes each segment of {@code path}, keeping the '/' separators. */
  public static String canonicalUri(String path) {
    if (path.isEmpty()) {
      return "/";
    }
    StringBuilder out = new StringBuilder(path.length() + 16);
    int start = 0;
    while (true) {
      int slash = path.indexOf('/', start);
      if (slash < 0) {
        out.append(percentEncode(path.substring(start)));
        return out.toString();
      }
      out.append(percentEncode(path.substring(start, slash))).append('/');
      start = slash + 1;
    }
  }

  /** Encoded {@code name=value} pairs sorted by name and joined with '&'; "" for none. */
  public static String canonicalQueryString(Map<String, String> queryParameters) {
    StringBuilder out = new StringBuilder();
    for (Map.Entry<String, String> parameter : new TreeMap<>(queryParameters).entrySet()) {
      if (out.length() > 0) {
        out.append('&');
      }
      String value = parameter.getValue() == null ? "" : parameter.getValue();
      out.append(percentEncode(parameter.getKey())).append('=').append(percentEncode(value));
    }
    return out.toString();
  }

  /** {@code name:value\n} for each header, names lower-case and sorted, values trimmed. */
  public static String canonicalHeaders(Map<String, String> signedHeaders) {
    StringBuilder out = new StringBuilder(256);
    for (Map.Entry<String, String> header : lowerCaseSorted(signedHeaders).entrySet()) {
      out.append(header.getKey()).append(':').append(header.getValue().trim()).append('\n');
    }
    return out.toString();
  }

  /** The lower-case names, sorted and joined with ';'. */
  public static String signedHeaderList(Collection<String> headerNames) {
    return String.join(";", lowerCaseSorted(headerNames));
  }

  /** {@code ACS3-HMAC-SHA256\n} followed by the hex sha256 of the canonical request. */
  public static String stringToSign(String canonicalRequest) {
    return ALGORITHM + '\n' + sha256Hex(canonicalRequest.getBytes(StandardCharsets.UTF_8));
  }

  /** Lower-case hex HMAC-SHA256 of {@code stringToSign} keyed with the UTF-8 bytes of the secret. */
  public static String signature(String accessKeySecret, String stringToSign) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(accessKeySecret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
      return HEX.formatHex(mac.doFinal(stringToSign.getBytes(StandardCharsets.UTF_8)));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is required of every Java platform", e);
    }
  }

  /** Lower-case hex SHA-256 of {@code bytes}. */
  public static String sha256Hex(byte[] bytes) {
    return HEX.formatHex(newSha256().digest(bytes));
  }

  /** A new SHA-256 digest; SHA-256 is required of every Java platform. */
  public static MessageDigest newSha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required of every Java platform", e);
    }
  }

  /**
   * RFC 3986 percent-encoding of the UTF-8 bytes of {@code text}: letters, digits, '-', '_', '.'
   * and '~' stay, everything else becomes {@code %XX} (so a space is {@code %20} and '*' is
   * {@code %2A}).
   */
  public static String percentEncode(String text) {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    StringBuilder out = new StringBuilder(bytes.length + 8);
    for (byte b : bytes) {
      int c = b & 0xFF;
      if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
          || c == '-' || c == '_' || c == '.' || c == '~') {
        out.append((char) c);
      } else {
        out.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
            .append(Character.toUpperCase(Character.forDigit(c & 0xF, 16)));
      }
    }
    return out.toString();
  }

  /** {@code instant} as a {@value #HEADER_DATE} value, truncated to whole seconds. */
  public static String formatDate(Instant instant) {
    return DATE_FORMAT.format(instant);
  }

  /**
   * Parses a {@value #HEADER_DATE} value.
   *
   * @throws java.time.format.DateTimeParseException if it is not of the form {@code
   *     2023-10-26T10:22:32Z}
   */
  public static Instant parseDate(String text) {
    return DATE_FORMAT.parse(text, Instant::from);
  }

  /** Whether {@code text} can be an AccessKey id: 1 to 64 of letters, digits, '.', '_', '-'. */
  public static boolean isValidAccessKeyId(String text) {
    return text != null && ACCESS_KEY_ID.matcher(text).matches();
  }

  /** Whether {@code text} can be a signature nonce: 1 to 128 of letters, digits, '_', '-'. */
  public static boolean isValidNonce(String text) {
    return text != null && NONCE.matcher(text).matches();
  }

  /** Whether {@code text} is a lower-case hex SHA-256, as {@value #HEADER_CONTENT_SHA256} carries. */
  public static boolean isSha256Hex(String text) {
    return text != null && CONTENT_SHA256.matcher(text).matches();
  }

  /**
   * Compares two signatures (or hashes) in time independent of where they differ, so that the
   * time a rejection takes does not reveal how much of a guessed signature was right.
   */
  public static boolean constantTimeEquals(String expected, String actual) {
    return MessageDigest.isEqual(
        expected.getBytes(StandardCharsets.UTF_8), actual.getBytes(StandardCharsets.UTF_8));
  }

  private static SortedMap<String, String> lowerCaseSorted(Map<String, String> headers) {
    SortedMap<String, String> sorted = new TreeMap<>();
    for (Map.Entry<String, String> header : headers.entrySet()) {
      String name = header.getKey().toLowerCase(Locale.ROOT);
      if (sorted.put(name, header.getValue()) != null) {
        throw new IllegalArgumentException("header " + name + " given twice");
      }
    }
    return sorted;
  }

  private static List<String> lowerCaseSorted(Collection<String> names) {
    return names.stream().map(name -> name.toLowerCase(Locale.ROOT)).sorted().distinct().toList();
  }
}
