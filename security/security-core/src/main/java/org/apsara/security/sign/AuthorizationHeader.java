package org.apsara.security.sign;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * The parsed {@code Authorization} header of a signed request:
 * {@code ACS3-HMAC-SHA256 Credential=<AccessKeyId>,SignedHeaders=<a;b;c>,Signature=<hex>}.
 *
 * <p>Immutable and thread-safe. Parsing is strict: the three parts in this order, header names in
 * lower case, sorted and distinct, and a 64-digit lower-case hex signature. Anything else is
 * rejected rather than interpreted, because two parties that read one header differently are how
 * signature schemes get broken.
 *
 * @param accessKeyId the Credential part
 * @param signedHeaders the SignedHeaders part, lower-case and sorted
 * @param signature the Signature part, 64 lower-case hex digits
 */
public record AuthorizationHeader(String accessKeyId, List<String> signedHeaders, String signature) {
  /** Longest Authorization header accepted. */
  public static final int LENGTH_MAX = 2048;
  /** Most headers one request may sign. */
  public static final int SIGNED_HEADERS_MAX = 32;

  static final String CREDENTIAL = "Credential=";
  static final String SIGNED_HEADERS = "SignedHeaders=";
  static final String SIGNATURE = "Signature=";
  private static final Pattern HEADER_NAME = Pattern.compile("[a-z0-9][a-z0-9-]{0,63}");

  public AuthorizationHeader {
    Objects.requireNonNull(accessKeyId, "accessKeyId");
    signedHeaders = List.copyOf(signedHeaders);
    Objects.requireNonNull(signature, "signature");
  }

  /** The header value. */
  public String format() {
    return SignatureV3.ALGORITHM + " " + CREDENTIAL + accessKeyId + ","
        + SIGNED_HEADERS + String.join(";", signedHeaders) + "," + SIGNATURE + signature;
  }

  /**
   * Parses a header value.
   *
   * @throws SignatureRejectedException with {@link SignatureError#INVALID_AUTHORIZATION} if it is
   *     malformed
   */
  public static AuthorizationHeader parse(String value) throws SignatureRejectedException {
    if (value.length() > LENGTH_MAX) {
      throw invalid("the Authorization header is longer than " + LENGTH_MAX + " characters", "");
    }
    String prefix = SignatureV3.ALGORITHM + " ";
    if (!value.startsWith(prefix)) {
      throw invalid("the Authorization header does not start with '" + prefix.trim() + " '", "");
    }
    String[] parts = value.substring(prefix.length()).split(",", -1);
    if (parts.length != 3) {
      throw invalid("the Authorization header must have Credential, SignedHeaders and Signature"
          + " separated by ','", "");
    }
    String accessKeyId = part(parts[0], CREDENTIAL, "");
    if (!SignatureV3.isValidAccessKeyId(accessKeyId)) {
      throw invalid("Credential is not a valid AccessKey id", "");
    }
    List<String> signedHeaders = headerNames(part(parts[1], SIGNED_HEADERS, accessKeyId), accessKeyId);
    String signature = part(parts[2], SIGNATURE, accessKeyId);
    if (!SignatureV3.isSha256Hex(signature)) {
      throw invalid("Signature must be 64 lower-case hex digits", accessKeyId);
    }
    return new AuthorizationHeader(accessKeyId, signedHeaders, signature);
  }

  static String part(String part, String name, String accessKeyId)
      throws SignatureRejectedException {
    String trimmed = part.trim();
    if (!trimmed.startsWith(name)) {
      throw invalid("expected '" + name + "' in the Authorization header", accessKeyId);
    }
    return trimmed.substring(name.length());
  }

  static List<String> headerNames(String list, String accessKeyId)
      throws SignatureRejectedException {
    String[] names = list.split(";", -1);
    if (names.length > SIGNED_HEADERS_MAX) {
      throw invalid("SignedHeaders lists more than " + SIGNED_HEADERS_MAX + " headers", accessKeyId);
    }
    List<String> result = new ArrayList<>(names.length);
    for (String name : names) {
      if (!HEADER_NAME.matcher(name).matches()) {
        throw invalid("SignedHeaders has an empty or invalid header name", accessKeyId);
      }
      if (!result.isEmpty() && result.get(result.size() - 1).compareTo(name) >= 0) {
        throw invalid("SignedHeaders must be sorted and distinct", accessKeyId);
      }
      result.add(name);
    }
    return result;
  }

  static SignatureRejectedException invalid(String message, String accessKeyId) {
    return new SignatureRejectedException(SignatureError.INVALID_AUTHORIZATION, message, accessKeyId);
  }
}
