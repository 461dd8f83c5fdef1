package org.apsara.security.sign;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Verifies the signature of received gRPC calls and rejects replays: Alibaba Cloud's V3 signature
 * ({@link #verify}, keyed with the AccessKey secret) or the scoped signature ({@link
 * #verifyScoped}, keyed with a key derived for one day, region and service).
 *
 * <p>The checks run in a fixed order, cheapest and least revealing first: the Authorization
 * header, the required signed headers, the nonce and payload-hash formats, the timestamp window,
 * (for a scoped signature, the credential scope,) the AccessKey, the signature, and last the
 * nonce. A nonce is remembered only once the signature
 * is known to be right, so unauthenticated requests cannot fill the {@link NonceCache}.
 *
 * <p>The only state is the nonce cache; apart from it, verification is a pure function of the call,
 * the clock and the resolver, and does no I/O of its own. Thread-safe.
 */
public final class SignatureVerifier {
  /** How far {@code x-acs-date} may be from the server's clock, in either direction. */
  public static final Duration ALLOWED_CLOCK_SKEW = Duration.ofMinutes(15);

  private final Clock clock;
  private final NonceCache nonces;

  /**
   * @param clock the server's clock, against which {@code x-acs-date} is checked
   * @param nonces remembers the nonces of accepted calls; shared by every call this server verifies
   */
  public SignatureVerifier(Clock clock, NonceCache nonces) {
    this.clock = Objects.requireNonNull(clock, "clock");
    this.nonces = Objects.requireNonNull(nonces, "nonces");
  }

  /** The clock the verifier checks timestamps against. */
  public Clock clock() {
    return clock;
  }

  /**
   * Verifies one call's {@value SignatureV3#ALGORITHM} signature headers. The payload itself is not
   * seen here: when {@link VerifiedRequest#payloadHashed()}, the caller must check the request
   * message against {@link VerifiedRequest#contentSha256()} before acting on it.
   *
   * @param call the received call
   * @param resolver looks up the AccessKey the call names
   * @return who signed the call
   * @throws SignatureRejectedException naming the first check that failed
   */
  public VerifiedRequest verify(SignedCall call, AccessKeyResolver resolver)
      throws SignatureRejectedException {
    AuthorizationHeader authorization = AuthorizationHeader.parse(authorizationValue(call));
    String accessKeyId = authorization.accessKeyId();
    CheckedHeaders checked = checkHeaders(call, authorization.signedHeaders(), accessKeyId);

    ResolvedAccessKey key = resolve(resolver, accessKeyId);
    String stringToSign = SignatureV3.stringToSign(checked.canonicalRequest(call));
    String expected = SignatureV3.signature(key.accessKeySecret(), stringToSign);
    checkSignature(expected, authorization.signature(), stringToSign, accessKeyId);
    return remember(checked, key.principal());
  }

  /**
   * Verifies one call's {@value ScopedSignature#ALGORITHM} signature headers, made with a key
   * derived for {@code expected} on the request's day. Everything but the key and the string to
   * sign is checked as {@link #verify} checks it, and the payload is left to the caller the same
   * way. A call signed with {@value SignatureV3#ALGORITHM} is rejected: verifying it would take the
   * AccessKey secret, which only the identity service holds.
   *
   * @param call the received call
   * @param expected this server's region and service; a scope naming others is rejected with
   *     {@link SignatureError#INVALID_CREDENTIAL_SCOPE} before any key is looked up
   * @param resolver gives the signing key for the call's AccessKey and scope
   * @return who signed the call
   * @throws SignatureRejectedException naming the first check that failed
   */
  public VerifiedRequest verifyScoped(
      SignedCall call, ServiceScope expected, SigningKeyResolver resolver)
      throws SignatureRejectedException {
    String value = authorizationValue(call);
    if (!ScopedAuthorizationHeader.isScoped(value)) {
      throw reject(SignatureError.INVALID_AUTHORIZATION, "this service (" + expected.service()
          + " in region " + expected.region() + ") accepts only " + ScopedSignature.ALGORITHM
          + " signatures, made with a key derived for it"
          + (value.startsWith(SignatureV3.ALGORITHM + " ")
              ? "; " + SignatureV3.ALGORITHM + " signatures are for the identity service"
              : ""),
          "");
    }
    ScopedAuthorizationHeader authorization = ScopedAuthorizationHeader.parse(value);
    String accessKeyId = authorization.accessKeyId();
    CheckedHeaders checked = checkHeaders(call, authorization.signedHeaders(), accessKeyId);

    CredentialScope scope = authorization.scope();
    if (!scope.serviceScope().equals(expected)) {
      throw reject(SignatureError.INVALID_CREDENTIAL_SCOPE, "the credential scope is for service "
          + scope.service() + " in region " + scope.region() + ", but this is service "
          + expected.service() + " in region " + expected.region(), accessKeyId);
    }
    LocalDate day = LocalDate.ofInstant(checked.date(), ZoneOffset.UTC);
    if (!scope.date().equals(day)) {
      throw reject(SignatureError.INVALID_CREDENTIAL_SCOPE, "the credential scope's date "
          + scope.formattedDate() + " is not the UTC day of " + SignatureV3.HEADER_DATE + " "
          + checked.acsDate() + " (" + CredentialScope.DATE_FORMAT.format(day) + ")", accessKeyId);
    }

    ResolvedSigningKey key = resolveScoped(resolver, accessKeyId, scope);
    String stringToSign =
        ScopedSignature.stringToSign(checked.acsDate(), scope, checked.canonicalRequest(call));
    String expectedSignature = ScopedSignature.signature(key.signingKey(), stringToSign);
    checkSignature(expectedSignature, authorization.signature(), stringToSign, accessKeyId);
    return remember(checked, key.principal());
  }

  /**
   * What both algorithms check of a call before the key: the signed headers, the action, the
   * nonce and payload-hash formats, and the timestamp window.
   */
  private CheckedHeaders checkHeaders(
      SignedCall call, List<String> signedHeaderNames, String accessKeyId)
      throws SignatureRejectedException {
    Map<String, String> signedHeaders = signedHeaderValues(call, signedHeaderNames, accessKeyId);

    String action = signedHeaders.get(SignatureV3.HEADER_ACTION);
    if (!action.equals(call.fullMethodName())) {
      throw reject(SignatureError.SIGNATURE_MISMATCH,
          SignatureV3.HEADER_ACTION + " does not name the called method " + call.fullMethodName(),
          accessKeyId);
    }
    String nonce = signedHeaders.get(SignatureV3.HEADER_NONCE);
    if (!SignatureV3.isValidNonce(nonce)) {
      throw reject(SignatureError.INVALID_NONCE, SignatureError.INVALID_NONCE.description(),
          accessKeyId);
    }
    String contentSha256 = signedHeaders.get(SignatureV3.HEADER_CONTENT_SHA256);
    checkPayloadHashKind(call, contentSha256, accessKeyId);

    Instant now = Instant.now(clock);
    String acsDate = signedHeaders.get(SignatureV3.HEADER_DATE);
    Instant date = parseDate(acsDate, accessKeyId);
    checkWindow(date, now, accessKeyId);
    return new CheckedHeaders(accessKeyId, signedHeaders, nonce, contentSha256, acsDate, date, now);
  }

  /** The headers of a call that passed {@link #checkHeaders}, and what was read from them. */
  private record CheckedHeaders(String accessKeyId, Map<String, String> signedHeaders, String nonce,
      String contentSha256, String acsDate, Instant date, Instant now) {
    String canonicalRequest(SignedCall call) {
      return SignatureV3.grpcCanonicalRequest(call.fullMethodName(), signedHeaders, contentSha256);
    }
  }

  private static String authorizationValue(SignedCall call) throws SignatureRejectedException {
    String value = call.headers().get(SignatureV3.HEADER_AUTHORIZATION);
    if (value == null || value.isBlank()) {
      throw new SignatureRejectedException(
          SignatureError.MISSING_AUTHORIZATION, SignatureError.MISSING_AUTHORIZATION.description(), "");
    }
    return value;
  }

  private static void checkSignature(
      String expected, String actual, String stringToSign, String accessKeyId)
      throws SignatureRejectedException {
    if (!SignatureV3.constantTimeEquals(expected, actual)) {
      // The string to sign is a hash of public request data, not a secret; showing it lets a
      // client developer compare canonicalizations.
      throw reject(SignatureError.SIGNATURE_MISMATCH,
          "The request signature does not match the server's calculation; the server's"
              + " StringToSign is '" + stringToSign.replace("\n", "\\n") + "'",
          accessKeyId);
    }
  }

  /** Remembers the nonce of a call whose signature is right, rejecting a replay. */
  private VerifiedRequest remember(CheckedHeaders checked, Principal principal)
      throws SignatureRejectedException {
    String accessKeyId = checked.accessKeyId();
    String nonce = checked.nonce();
    switch (nonces.record(
        accessKeyId, nonce, checked.date().plus(ALLOWED_CLOCK_SKEW), checked.now())) {
      case RECORDED -> {
        return new VerifiedRequest(principal, checked.contentSha256());
      }
      case REUSED -> throw reject(SignatureError.NONCE_USED,
          "the nonce " + nonce + " was already used with this AccessKey within the last "
              + describe(ALLOWED_CLOCK_SKEW.multipliedBy(2)),
          accessKeyId);
      case FULL -> throw reject(SignatureError.NONCE_CACHE_FULL,
          "the server already remembers " + nonces.entriesMax()
              + " recent nonces; retry when older ones expire",
          accessKeyId);
      default -> throw new AssertionError("unknown nonce cache result");
    }
  }

  /**
   * The value of every signed header, after checking that the required ones are signed, that every
   * signed one is present, and that no {@code x-acs-} header is left unsigned.
   */
  private static Map<String, String> signedHeaderValues(
      SignedCall call, List<String> signedHeaderNames, String accessKeyId)
      throws SignatureRejectedException {
    for (String required : SignatureV3.REQUIRED_SIGNED_HEADERS) {
      if (!signedHeaderNames.contains(required)) {
        throw reject(SignatureError.MISSING_SIGNED_HEADER,
            "SignedHeaders must include " + required, accessKeyId);
      }
    }
    Map<String, String> values = new HashMap<>();
    for (String name : signedHeaderNames) {
      // gRPC carries the host as :authority, which is not among the metadata headers.
      String value = name.equals(SignatureV3.HEADER_HOST)
          ? call.authority()
          : call.headers().get(name);
      if (value == null) {
        throw reject(SignatureError.MISSING_SIGNED_HEADER,
            "the signed header " + name + " is missing from the request", accessKeyId);
      }
      values.put(name, value);
    }
    for (String name : call.headers().keySet()) {
      if (name.startsWith(SignatureV3.ACS_HEADER_PREFIX)
          && !signedHeaderNames.contains(name)) {
        throw reject(SignatureError.MISSING_SIGNED_HEADER,
            "the header " + name + " is present but not signed", accessKeyId);
      }
    }
    return values;
  }

  private static void checkPayloadHashKind(SignedCall call, String contentSha256, String accessKeyId)
      throws SignatureRejectedException {
    boolean unsigned = SignatureV3.UNSIGNED_PAYLOAD.equals(contentSha256);
    if (!unsigned && !SignatureV3.isSha256Hex(contentSha256)) {
      throw reject(SignatureError.CONTENT_SHA256_MISMATCH,
          SignatureV3.HEADER_CONTENT_SHA256 + " must be 64 lower-case hex digits or "
              + SignatureV3.UNSIGNED_PAYLOAD, accessKeyId);
    }
    if (call.payloadMustBeHashed() && unsigned) {
      throw reject(SignatureError.CONTENT_SHA256_MISMATCH,
          call.fullMethodName() + " sends one request message, whose hash must be signed; "
              + SignatureV3.UNSIGNED_PAYLOAD + " is only for client-streaming calls",
          accessKeyId);
    }
    if (!call.payloadMustBeHashed() && !unsigned) {
      throw reject(SignatureError.CONTENT_SHA256_MISMATCH,
          call.fullMethodName() + " streams request messages, so its payload cannot be hashed"
              + " ahead; sign it with " + SignatureV3.UNSIGNED_PAYLOAD,
          accessKeyId);
    }
  }

  private static Instant parseDate(String text, String accessKeyId)
      throws SignatureRejectedException {
    try {
      return SignatureV3.parseDate(text);
    } catch (DateTimeParseException e) {
      throw reject(SignatureError.INVALID_TIMESTAMP_FORMAT,
          SignatureError.INVALID_TIMESTAMP_FORMAT.description(), accessKeyId);
    }
  }

  private static void checkWindow(Instant date, Instant now, String accessKeyId)
      throws SignatureRejectedException {
    Duration offset = Duration.between(now, date);
    if (offset.abs().compareTo(ALLOWED_CLOCK_SKEW) > 0) {
      throw reject(SignatureError.TIMESTAMP_EXPIRED,
          SignatureV3.HEADER_DATE + " " + SignatureV3.formatDate(date) + " is "
              + describe(offset.abs()) + (offset.isNegative() ? " behind" : " ahead of")
              + " the server's clock (" + now + "); the allowed skew is "
              + describe(ALLOWED_CLOCK_SKEW) + " either way",
          accessKeyId);
    }
  }

  private static ResolvedAccessKey resolve(AccessKeyResolver resolver, String accessKeyId)
      throws SignatureRejectedException {
    Optional<ResolvedAccessKey> resolved = resolver.resolve(accessKeyId);
    if (resolved.isEmpty()) {
      throw reject(SignatureError.ACCESS_KEY_NOT_FOUND,
          "the AccessKey " + accessKeyId + " does not exist", accessKeyId);
    }
    ResolvedAccessKey key = resolved.get();
    if (!key.principal().accessKeyId().equals(accessKeyId)) {
      throw new IllegalStateException("the resolver answered for " + accessKeyId
          + " with a principal of another AccessKey, " + key.principal().accessKeyId());
    }
    if (!key.enabled()) {
      throw reject(SignatureError.ACCESS_KEY_INACTIVE,
          "the AccessKey " + accessKeyId + " is disabled", accessKeyId);
    }
    return key;
  }

  private static ResolvedSigningKey resolveScoped(
      SigningKeyResolver resolver, String accessKeyId, CredentialScope scope)
      throws SignatureRejectedException {
    Optional<ResolvedSigningKey> resolved = resolver.resolve(accessKeyId, scope);
    if (resolved.isEmpty()) {
      throw reject(SignatureError.ACCESS_KEY_NOT_FOUND,
          "the AccessKey " + accessKeyId + " does not exist", accessKeyId);
    }
    ResolvedSigningKey key = resolved.get();
    if (!key.principal().accessKeyId().equals(accessKeyId)) {
      throw new IllegalStateException("the resolver answered for " + accessKeyId
          + " with a principal of another AccessKey, " + key.principal().accessKeyId());
    }
    if (!key.enabled()) {
      throw reject(SignatureError.ACCESS_KEY_INACTIVE,
          "the AccessKey " + accessKeyId + " is disabled", accessKeyId);
    }
    return key;
  }

  /** A duration as people read it: "15 min", "16 min 1 s", "900 ms". */
  static String describe(Duration duration) {
    long minutes = duration.toMinutes();
    int seconds = duration.toSecondsPart();
    int millis = duration.toMillisPart();
    StringBuilder out = new StringBuilder();
    if (minutes > 0) {
      out.append(minutes).append(" min");
    }
    if (seconds > 0) {
      out.append(out.length() > 0 ? " " : "").append(seconds).append(" s");
    }
    if (millis > 0 || out.length() == 0) {
      out.append(out.length() > 0 ? " " : "").append(millis).append(" ms");
    }
    return out.toString();
  }

  private static SignatureRejectedException reject(
      SignatureError error, String message, String accessKeyId) {
    return new SignatureRejectedException(error, message, accessKeyId);
  }
}
