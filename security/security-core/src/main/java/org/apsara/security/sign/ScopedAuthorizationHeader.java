package org.apsara.security.sign;

import java.util.List;
import java.util.Objects;

/**
 * The parsed {@code Authorization} header of a request signed with a scoped key: {@code
 * APSARA4-HMAC-SHA256 Credential=<AccessKeyId>/<yyyyMMdd>/<region>/<service>/apsara4_request,
 * SignedHeaders=<a;b;c>,Signature=<hex>}.
 *
 * <p>Immutable and thread-safe. Parsing is as strict as {@link AuthorizationHeader}'s: the three
 * parts in this order, header names lower-case, sorted and distinct, a 64-digit lower-case hex
 * signature, and a scope that {@link CredentialScope#parse} accepts.
 *
 * @param accessKeyId the AccessKey id, the Credential part before the first '/'
 * @param scope the rest of the Credential part
 * @param signedHeaders the SignedHeaders part, lower-case and sorted
 * @param signature the Signature part, 64 lower-case hex digits
 */
public record ScopedAuthorizationHeader(
    String accessKeyId, CredentialScope scope, List<String> signedHeaders, String signature) {
  public ScopedAuthorizationHeader {
    Objects.requireNonNull(accessKeyId, "accessKeyId");
    Objects.requireNonNull(scope, "scope");
    signedHeaders = List.copyOf(signedHeaders);
    Objects.requireNonNull(signature, "signature");
  }

  /** Whether a header value claims this algorithm (and should be parsed by {@link #parse}). */
  public static boolean isScoped(String value) {
    return value.startsWith(ScopedSignature.ALGORITHM + " ");
  }

  /** The header value. */
  public String format() {
    return ScopedSignature.ALGORITHM + " " + AuthorizationHeader.CREDENTIAL + accessKeyId + "/"
        + scope.format() + "," + AuthorizationHeader.SIGNED_HEADERS
        + String.join(";", signedHeaders) + "," + AuthorizationHeader.SIGNATURE + signature;
  }

  /**
   * Parses a header value.
   *
   * @throws SignatureRejectedException with {@link SignatureError#INVALID_AUTHORIZATION} if it is
   *     malformed
   */
  public static ScopedAuthorizationHeader parse(String value) throws SignatureRejectedException {
    if (value.length() > AuthorizationHeader.LENGTH_MAX) {
      throw AuthorizationHeader.invalid(
          "the Authorization header is longer than " + AuthorizationHeader.LENGTH_MAX
              + " characters", "");
    }
    if (!isScoped(value)) {
      throw AuthorizationHeader.invalid("the Authorization header does not start with '"
          + ScopedSignature.ALGORITHM + " '", "");
    }
    String[] parts = value.substring(ScopedSignature.ALGORITHM.length() + 1).split(",", -1);
    if (parts.length != 3) {
      throw AuthorizationHeader.invalid("the Authorization header must have Credential,"
          + " SignedHeaders and Signature separated by ','", "");
    }
    String credential = AuthorizationHeader.part(parts[0], AuthorizationHeader.CREDENTIAL, "");
    int slash = credential.indexOf('/');
    String accessKeyId = slash < 0 ? credential : credential.substring(0, slash);
    if (!SignatureV3.isValidAccessKeyId(accessKeyId)) {
      throw AuthorizationHeader.invalid("Credential does not start with a valid AccessKey id", "");
    }
    if (slash < 0) {
      throw AuthorizationHeader.invalid("Credential must be <AccessKeyId>/<yyyyMMdd>/<region>/"
          + "<service>/" + ScopedSignature.TERMINATOR, accessKeyId);
    }
    CredentialScope scope;
    try {
      scope = CredentialScope.parse(credential.substring(slash + 1));
    } catch (IllegalArgumentException e) {
      throw AuthorizationHeader.invalid("Credential's scope is malformed: " + e.getMessage(),
          accessKeyId);
    }
    List<String> signedHeaders = AuthorizationHeader.headerNames(
        AuthorizationHeader.part(parts[1], AuthorizationHeader.SIGNED_HEADERS, accessKeyId),
        accessKeyId);
    String signature =
        AuthorizationHeader.part(parts[2], AuthorizationHeader.SIGNATURE, accessKeyId);
    if (!SignatureV3.isSha256Hex(signature)) {
      throw AuthorizationHeader.invalid("Signature must be 64 lower-case hex digits", accessKeyId);
    }
    return new ScopedAuthorizationHeader(accessKeyId, scope, signedHeaders, signature);
  }
}
