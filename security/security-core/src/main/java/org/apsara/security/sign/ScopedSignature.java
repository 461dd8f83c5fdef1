package org.apsara.security.sign;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.HexFormat;
import java.util.Objects;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The scoped request signature ({@value #ALGORITHM}), shaped like Alibaba Cloud OSS's V4
 * signature: the canonical request of {@link SignatureV3} (same signed headers, payload hash,
 * nonce and date rules), signed with a key derived from the AccessKey secret for one day, region
 * and service.
 *
 * <pre>
 * kDate         = hmac-sha256("aliyun_v4" + AccessKeySecret, yyyyMMdd)
 * kRegion       = hmac-sha256(kDate, region)
 * kService      = hmac-sha256(kRegion, service)
 * kSigning      = hmac-sha256(kService, "apsara4_request")
 * StringToSign  = "APSARA4-HMAC-SHA256" \n x-acs-date \n
 *                 yyyyMMdd/region/service/apsara4_request \n hex(sha256(CanonicalRequest))
 * Signature     = hex(hmac-sha256(kSigning, StringToSign))
 * Authorization = APSARA4-HMAC-SHA256 Credential=id/yyyyMMdd/region/service/apsara4_request,
 *                 SignedHeaders=a;b;c,Signature=hex
 * </pre>
 *
 * <p>Why: a service that verifies signatures needs the key they were made with. With {@link
 * SignatureV3} that is the AccessKey secret itself, which only the identity service should hold.
 * A derived key lets a service verify requests to itself, today, and nothing else: it cannot sign
 * as the user to another service, and it is worthless after the day. The date is the UTC day of
 * the request's {@code x-acs-date}, and the {@code x-acs-date} value itself (ISO 8601, {@code
 * 2024-05-01T08:00:00Z}) is the timestamp line of the string to sign.
 *
 * <p>Stateless and thread-safe; every method is a pure function of its arguments.
 */
public final class ScopedSignature {
  /** The algorithm name, the first word of the Authorization header and of the string to sign. */
  public static final String ALGORITHM = "APSARA4-HMAC-SHA256";
  /** The last field of every credential scope and the last step of the key derivation. */
  public static final String TERMINATOR = "apsara4_request";
  /** Prefixed to the secret to key the first step of the derivation, as in OSS V4. */
  public static final String SECRET_PREFIX = "aliyun_v4";
  /** Bytes of a derived signing key: an HMAC-SHA256 output. */
  public static final int SIGNING_KEY_BYTES = 32;

  private static final String HMAC = "HmacSHA256";
  private static final HexFormat HEX = HexFormat.of();

  private ScopedSignature() {}

  /**
   * The signing key of {@code scope}: the HMAC chain over its day, region, service and {@value
   * #TERMINATOR}. A fresh array; the caller may clear it when done.
   */
  public static byte[] deriveSigningKey(String accessKeySecret, CredentialScope scope) {
    Objects.requireNonNull(accessKeySecret, "accessKeySecret");
    byte[] kDate = hmac((SECRET_PREFIX + accessKeySecret).getBytes(StandardCharsets.UTF_8),
        scope.formattedDate());
    byte[] kRegion = hmac(kDate, scope.region());
    byte[] kService = hmac(kRegion, scope.service());
    return hmac(kService, TERMINATOR);
  }

  /**
   * {@code APSARA4-HMAC-SHA256\n<x-acs-date>\n<scope>\n<hex sha256 of the canonical request>}.
   *
   * @param acsDate the request's {@code x-acs-date} value, as sent
   */
  public static String stringToSign(String acsDate, CredentialScope scope, String canonicalRequest) {
    return ALGORITHM + '\n' + acsDate + '\n' + scope.format() + '\n'
        + SignatureV3.sha256Hex(canonicalRequest.getBytes(StandardCharsets.UTF_8));
  }

  /** Lower-case hex HMAC-SHA256 of {@code stringToSign} keyed with a derived signing key. */
  public static String signature(byte[] signingKey, String stringToSign) {
    return HEX.formatHex(hmac(signingKey, stringToSign));
  }

  private static byte[] hmac(byte[] key, String data) {
    try {
      Mac mac = Mac.getInstance(HMAC);
      mac.init(new SecretKeySpec(key, HMAC));
      return mac.doFinal(data.getBytes(StandardCharsets.UTF_8));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is required of every Java platform", e);
    }
  }
}
