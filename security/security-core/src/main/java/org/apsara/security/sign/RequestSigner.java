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
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * Signs gRPC calls with one AccessKey.
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

  /**
   * @param credentials the key to sign with
   * @param clock gives the signing time
   * @param nonceSource gives a new nonce for every call; each must be unique per key within the
   *     allowed clock skew, or the server rejects the call as a replay
   */
  public RequestSigner(
      AccessKeyCredentials credentials, Clock clock, Supplier<String> nonceSource) {
    this.credentials = Objects.requireNonNull(credentials, "credentials");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.nonceSource = Objects.requireNonNull(nonceSource, "nonceSource");
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
    Map<String, String> sent = new LinkedHashMap<>();
    sent.put(SignatureV3.HEADER_ACTION, fullMethodName);
    sent.put(SignatureV3.HEADER_CONTENT_SHA256, contentSha256);
    sent.put(SignatureV3.HEADER_DATE, SignatureV3.formatDate(Instant.now(clock)));
    sent.put(SignatureV3.HEADER_NONCE, nonce);

    Map<String, String> signed = new TreeMap<>(sent);
    signed.put(SignatureV3.HEADER_HOST, authority);
    String canonicalRequest =
        SignatureV3.grpcCanonicalRequest(fullMethodName, signed, contentSha256);
    String signature = SignatureV3.signature(
        credentials.accessKeySecret(), SignatureV3.stringToSign(canonicalRequest));
    AuthorizationHeader authorization = new AuthorizationHeader(
        credentials.accessKeyId(), List.copyOf(signed.keySet()), signature);
    sent.put(SignatureV3.HEADER_AUTHORIZATION, authorization.format());
    return Collections.unmodifiableMap(sent);
  }

  @Override
  public String toString() {
    return "RequestSigner[accessKeyId=" + credentials.accessKeyId() + "]";
  }
}
