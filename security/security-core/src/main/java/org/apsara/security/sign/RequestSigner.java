package org.apsara.security.sign;

import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * Signs gRPC calls with one AccessKey: with the secret itself ({@value SignatureV3#ALGORITHM}, for
 * the identity service), or, from {@link #scoped}, with a key derived from it for one service in
 * one region ({@value ScopedSignature#ALGORITHM}, for every other service).
 *
 * <p>A scoped signer derives the key of the current UTC day on first use and keeps it until the
 * day changes, so that a call costs one HMAC of its string to sign, as an unscoped one does.
 *
 * <p>Pure apart from its two injected sources of variation: the clock gives {@code x-acs-date}
 * and the nonce source gives {@code x-acs-signature-nonce}. With fixed ones, equal arguments give
 * equal headers, which is what known-answer tests rely on.
 *
 * <p>Thread-safe if the nonce source is (as {@link #randomNonces()} is).
 */
public final class RequestSigner {
  /** Bytes of randomness in a generated nonce: 128 bits, 32 hex digits. */
  public static final int NONCE_RANDOM_BYTES = 16;

  private final AccessKeyCredentials credentials;
  private final Clock clock;
  private final Supplier<String> nonceSource;
  /** Null for a signer of {@value SignatureV3#ALGORITHM}. */
  private final ServiceScope scope;
  /** The derived key of the day last signed for; replaced whole, never mutated. */
  private volatile DayKey dayKey;

  /** A derived signing key and the scope (with its day) it was derived for. */
  private record DayKey(CredentialScope scope, byte[] signingKey) {}

  /**
   * @param credentials the key to sign with
   * @param clock gives the signing time
   * @param nonceSource gives a new nonce for every call; each must be unique per key within the
   *     allowed clock skew, or the server rejects the call as a replay
   */
  public RequestSigner(
      AccessKeyCredentials credentials, Clock clock, Supplier<String> nonceSource) {
    this(credentials, clock, nonceSource, null);
  }

  private RequestSigner(AccessKeyCredentials credentials, Clock clock,
      Supplier<String> nonceSource, ServiceScope scope) {
    this.credentials = Objects.requireNonNull(credentials, "credentials");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.nonceSource = Objects.requireNonNull(nonceSource, "nonceSource");
    this.scope = scope;
  }

  /**
   * A signer of {@value ScopedSignature#ALGORITHM} signatures for the service and region of {@code
   * scope}, which only that service accepts.
   *
   * @param credentials the AccessKey whose secret the daily signing keys are derived from
   * @param scope the region and name of the service called
   * @param clock gives the signing time, and with it the day of the key
   * @param nonceSource as for the {@linkplain #RequestSigner(AccessKeyCredentials, Clock,
   *     Supplier) unscoped signer}
   */
  public static RequestSigner scoped(AccessKeyCredentials credentials, ServiceScope scope,
      Clock clock, Supplier<String> nonceSource) {
    return new RequestSigner(
        credentials, clock, nonceSource, Objects.requireNonNull(scope, "scope"));
  }

  /** The service this signer signs for, or empty if it signs {@value SignatureV3#ALGORITHM}. */
  public Optional<ServiceScope> scope() {
    return Optional.ofNullable(scope);
  }

  /** A thread-safe source of random 128-bit nonces as 32 lower-case hex digits. */
  public static Supplier<String> randomNonces() {
    SecureRandom random = new SecureRandom();
    HexFormat hex = HexFormat.of();
    return () -> {
      byte[] bytes = new byte[NONCE_RANDOM_BYTES];
      random.nextBytes(bytes);
      return hex.formatHex(bytes);
    };
  }

  /** The id of the key this signer signs with. */
  public String accessKeyId() {
    return credentials.accessKeyId();
  }

  /**
   * The headers that sign one gRPC call: {@code x-acs-action}, {@code x-acs-content-sha256},
   * {@code x-acs-date}, {@code x-acs-signature-nonce} and {@code authorization}. The signed {@code
   * host} is the authority, which the transport sends as {@code :authority}, so it is not among
   * the returned headers.
   *
   * @param fullMethodName for example {@code etcdserverpb.KV/Put}
   * @param authority the authority the call is sent to
   * @param contentSha256 hex sha256 of the request message, or {@link
   *     SignatureV3#UNSIGNED_PAYLOAD}
   * @return the headers, by lower-case name, in a fixed order
   */
  public Map<String, String> signGrpcCall(
      String fullMethodName, String authority, String contentSha256) {
    if (!SignatureV3.isSha256Hex(contentSha256)
        && !SignatureV3.UNSIGNED_PAYLOAD.equals(contentSha256)) {
      throw new IllegalArgumentException("not a payload hash: " + contentSha256);
    }
    String nonce = nonceSource.get();
    if (!SignatureV3.isValidNonce(nonce)) {
      throw new IllegalStateException("the nonce source gave an invalid nonce: " + nonce);
    }
    Instant now = Instant.now(clock);
    String acsDate = SignatureV3.formatDate(now);
    Map<String, String> sent = new LinkedHashMap<>();
    sent.put(SignatureV3.HEADER_ACTION, fullMethodName);
    sent.put(SignatureV3.HEADER_CONTENT_SHA256, contentSha256);
    sent.put(SignatureV3.HEADER_DATE, acsDate);
    sent.put(SignatureV3.HEADER_NONCE, nonce);

    Map<String, String> signed = new TreeMap<>(sent);
    signed.put(SignatureV3.HEADER_HOST, authority);
    String canonicalRequest =
        SignatureV3.grpcCanonicalRequest(fullMethodName, signed, contentSha256);
    List<String> signedNames = List.copyOf(signed.keySet());
    String authorization;
    if (scope == null) {
      String signature = SignatureV3.signature(
          credentials.accessKeySecret(), SignatureV3.stringToSign(canonicalRequest));
      authorization =
          new AuthorizationHeader(credentials.accessKeyId(), signedNames, signature).format();
    } else {
      DayKey key = dayKey(CredentialScope.of(now, scope));
      String signature = ScopedSignature.signature(key.signingKey(),
          ScopedSignature.stringToSign(acsDate, key.scope(), canonicalRequest));
      authorization = new ScopedAuthorizationHeader(
          credentials.accessKeyId(), key.scope(), signedNames, signature).format();
    }
    sent.put(SignatureV3.HEADER_AUTHORIZATION, authorization);
    return Collections.unmodifiableMap(sent);
  }

  /** The derived key of {@code wanted}, derived anew only when the day changed. */
  private DayKey dayKey(CredentialScope wanted) {
    DayKey current = dayKey;
    if (current != null && current.scope().equals(wanted)) {
      return current;
    }
    // Two threads crossing midnight together may both derive; the results are equal.
    DayKey derived = new DayKey(
        wanted, ScopedSignature.deriveSigningKey(credentials.accessKeySecret(), wanted));
    dayKey = derived;
    return derived;
  }

  @Override
  public String toString() {
    return "RequestSigner[accessKeyId=" + credentials.accessKeyId()
        + (scope == null ? "" : ", scope=" + scope) + "]";
  }
}
