package org.apsara.security.sign;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.apsara.testkit.TestClock;
import org.junit.jupiter.api.Test;

class SignatureVerifierTest {
  private static final Instant NOW = Instant.parse("2024-05-01T08:00:00Z");
  private static final String METHOD = "etcdserverpb.KV/Put";
  private static final String AUTHORITY = "nuwa.example:2379";
  private static final String HASH = SignatureV3.sha256Hex(new byte[] {1, 2, 3});
  private static final AccessKeyCredentials ALICE =
      new AccessKeyCredentials("LTAIalice000000000000000", "alice-secret");
  private static final AccessKeyCredentials BOB =
      new AccessKeyCredentials("LTAIbob00000000000000000", "bob-secret");
  private static final Principal ALICE_PRINCIPAL =
      new Principal("1234", "alice", ALICE.accessKeyId());
  private static final Principal BOB_PRINCIPAL = new Principal("1234", "bob", BOB.accessKeyId());

  private final TestClock serverClock = new TestClock(NOW);
  private final TestClock clientClock = new TestClock(NOW);
  private final AtomicInteger nonceCounter = new AtomicInteger();
  private final SignatureVerifier verifier = new SignatureVerifier(serverClock, new NonceCache(100));
  private final AccessKeyResolver resolver = id -> switch (id) {
    case "LTAIalice000000000000000" ->
        Optional.of(new ResolvedAccessKey(ALICE.accessKeySecret(), true, ALICE_PRINCIPAL));
    case "LTAIbob00000000000000000" ->
        Optional.of(new ResolvedAccessKey(BOB.accessKeySecret(), false, BOB_PRINCIPAL));
    default -> Optional.empty();
  };

  @Test
  void acceptsACorrectlySignedCall() throws Exception {
    VerifiedRequest verified = verifier.verify(call(sign(ALICE, HASH)), resolver);

    assertThat(verified.principal()).isEqualTo(ALICE_PRINCIPAL);
    assertThat(verified.contentSha256()).isEqualTo(HASH);
    assertThat(verified.payloadHashed()).isTrue();
  }

  @Test
  void acceptsAStreamingCallWithAnUnsignedPayload() throws Exception {
    Map<String, String> headers = sign(ALICE, SignatureV3.UNSIGNED_PAYLOAD);

    VerifiedRequest verified =
        verifier.verify(new SignedCall(METHOD, AUTHORITY, false, headers), resolver);

    assertThat(verified.payloadHashed()).isFalse();
  }

  @Test
  void missingAuthorization() {
    Map<String, String> headers = sign(ALICE, HASH);
    headers.remove("authorization");

    assertRejected(headers, SignatureError.MISSING_AUTHORIZATION);
  }

  @Test
  void malformedAuthorization() {
    Map<String, String> headers = sign(ALICE, HASH);
    headers.put("authorization", "ACS3-HMAC-SHA256 Credential=LTAIalice000000000000000");

    assertRejected(headers, SignatureError.INVALID_AUTHORIZATION);
  }

  @Test
  void requiredHeaderNotSigned() throws Exception {
    Map<String, String> headers = sign(ALICE, HASH);
    AuthorizationHeader signed = AuthorizationHeader.parse(headers.get("authorization"));
    headers.put("authorization", new AuthorizationHeader(signed.accessKeyId(),
        signed.signedHeaders().stream().filter(h -> !h.equals("x-acs-date")).toList(),
        signed.signature()).format());

    SignatureRejectedException e = assertRejected(headers, SignatureError.MISSING_SIGNED_HEADER);
    assertThat(e.getMessage()).contains("x-acs-date");
  }

  @Test
  void signedHeaderMissingFromTheRequest() {
    Map<String, String> headers = sign(ALICE, HASH);
    headers.remove("x-acs-signature-nonce");

    SignatureRejectedException e = assertRejected(headers, SignatureError.MISSING_SIGNED_HEADER);
    assertThat(e.getMessage()).contains("x-acs-signature-nonce");
  }

  @Test
  void unsignedAcsHeader() {
    Map<String, String> headers = sign(ALICE, HASH);
    headers.put("x-acs-security-token", "smuggled");

    SignatureRejectedException e = assertRejected(headers, SignatureError.MISSING_SIGNED_HEADER);
    assertThat(e.getMessage()).contains("x-acs-security-token");
  }

  @Test
  void unknownAccessKey() {
    AccessKeyCredentials stranger = new AccessKeyCredentials("LTAIstranger000000000000", "s");

    SignatureRejectedException e =
        assertRejected(sign(stranger, HASH), SignatureError.ACCESS_KEY_NOT_FOUND);
    assertThat(e.claimedAccessKeyId()).isEqualTo("LTAIstranger000000000000");
  }

  @Test
  void disabledAccessKey() {
    assertRejected(sign(BOB, HASH), SignatureError.ACCESS_KEY_INACTIVE);
  }

  @Test
  void wrongSecret() {
    AccessKeyCredentials forged = new AccessKeyCredentials(ALICE.accessKeyId(), "guessed");

    SignatureRejectedException e = assertRejected(sign(forged, HASH), SignatureError.SIGNATURE_MISMATCH);
    assertThat(e.getMessage()).doesNotContain(ALICE.accessKeySecret());
  }

  @Test
  void alteredSignedHeaderBreaksTheSignature() {
    Map<String, String> headers = sign(ALICE, HASH);
    headers.put("x-acs-content-sha256", SignatureV3.sha256Hex(new byte[] {9}));

    assertRejected(headers, SignatureError.SIGNATURE_MISMATCH);
  }

  @Test
  void signatureForAnotherAuthorityOrMethodDoesNotVerify() {
    Map<String, String> headers = sign(ALICE, HASH);

    assertThat(catchThrowableOfType(SignatureRejectedException.class,
        () -> verifier.verify(new SignedCall(METHOD, "other:2379", true, headers), resolver))
        .error()).isEqualTo(SignatureError.SIGNATURE_MISMATCH);
    assertThat(catchThrowableOfType(SignatureRejectedException.class,
        () -> verifier.verify(new SignedCall("etcdserverpb.KV/DeleteRange", AUTHORITY, true,
            headers), resolver))
        .error()).isEqualTo(SignatureError.SIGNATURE_MISMATCH);
  }

  @Test
  void timestampWindowIsInclusiveOnBothEdges() throws Exception {
    Duration window = SignatureVerifier.ALLOWED_CLOCK_SKEW;

    clientClock.set(NOW.minus(window));
    verifier.verify(call(sign(ALICE, HASH)), resolver);
    clientClock.set(NOW.plus(window));
    verifier.verify(call(sign(ALICE, HASH)), resolver);

    clientClock.set(NOW.minus(window).minusSeconds(1));
    SignatureRejectedException behind =
        assertRejected(sign(ALICE, HASH), SignatureError.TIMESTAMP_EXPIRED);
    assertThat(behind.getMessage()).contains("15 min 1 s behind").contains("15 min either way");
    clientClock.set(NOW.plus(window).plusSeconds(1));
    SignatureRejectedException ahead =
        assertRejected(sign(ALICE, HASH), SignatureError.TIMESTAMP_EXPIRED);
    assertThat(ahead.getMessage()).contains("15 min 1 s ahead of");
  }

  @Test
  void malformedTimestamp() {
    Map<String, String> headers = sign(ALICE, HASH);
    headers.put("x-acs-date", "yesterday");

    assertRejected(headers, SignatureError.INVALID_TIMESTAMP_FORMAT);
  }

  @Test
  void replayedNonceIsRejectedUntilTheRequestExpires() throws Exception {
    Map<String, String> headers = sign(ALICE, HASH);
    verifier.verify(call(headers), resolver);

    SignatureRejectedException e = assertRejected(headers, SignatureError.NONCE_USED);
    assertThat(e.getMessage()).contains(headers.get("x-acs-signature-nonce"));

    serverClock.advance(SignatureVerifier.ALLOWED_CLOCK_SKEW.plusSeconds(1));
    assertRejected(headers, SignatureError.TIMESTAMP_EXPIRED);
  }

  @Test
  void invalidNonce() {
    Map<String, String> headers = signWithNonce(ALICE, HASH, "ok");
    headers.put("x-acs-signature-nonce", "not ok!");

    assertRejected(headers, SignatureError.INVALID_NONCE);
  }

  @Test
  void fullNonceCacheRejectsWithItsOwnError() throws Exception {
    SignatureVerifier small = new SignatureVerifier(serverClock, new NonceCache(1));
    small.verify(call(sign(ALICE, HASH)), resolver);

    SignatureRejectedException e = catchThrowableOfType(SignatureRejectedException.class,
        () -> small.verify(call(sign(ALICE, HASH)), resolver));

    assertThat(e.error()).isEqualTo(SignatureError.NONCE_CACHE_FULL);
  }

  @Test
  void badSignaturesDoNotUseUpNonces() throws Exception {
    SignatureVerifier small = new SignatureVerifier(serverClock, new NonceCache(1));
    AccessKeyCredentials forged = new AccessKeyCredentials(ALICE.accessKeyId(), "guessed");
    for (int i = 0; i < 3; i++) {
      catchThrowableOfType(SignatureRejectedException.class,
          () -> small.verify(call(sign(forged, HASH)), resolver));
    }

    small.verify(call(sign(ALICE, HASH)), resolver);
  }

  @Test
  void payloadHashKindMustFitTheCallType() {
    assertRejected(sign(ALICE, SignatureV3.UNSIGNED_PAYLOAD), SignatureError.CONTENT_SHA256_MISMATCH);
    Map<String, String> streaming = sign(ALICE, HASH);
    assertThat(catchThrowableOfType(SignatureRejectedException.class,
        () -> verifier.verify(new SignedCall(METHOD, AUTHORITY, false, streaming), resolver))
        .error()).isEqualTo(SignatureError.CONTENT_SHA256_MISMATCH);
  }

  @Test
  void actionMustNameTheCalledMethod() {
    RequestSigner signer = new RequestSigner(ALICE, clientClock, () -> "n1");
    Map<String, String> headers =
        new HashMap<>(signer.signGrpcCall("etcdserverpb.KV/Range", AUTHORITY, HASH));

    SignatureRejectedException e = assertRejected(headers, SignatureError.SIGNATURE_MISMATCH);
    assertThat(e.getMessage()).contains("x-acs-action");
  }

  private Map<String, String> sign(AccessKeyCredentials credentials, String contentSha256) {
    return signWithNonce(credentials, contentSha256, "nonce" + nonceCounter.incrementAndGet());
  }

  private Map<String, String> signWithNonce(
      AccessKeyCredentials credentials, String contentSha256, String nonce) {
    RequestSigner signer = new RequestSigner(credentials, clientClock, () -> nonce);
    return new HashMap<>(signer.signGrpcCall(METHOD, AUTHORITY, contentSha256));
  }

  private static SignedCall call(Map<String, String> headers) {
    return new SignedCall(METHOD, AUTHORITY, true, headers);
  }

  private SignatureRejectedException assertRejected(
      Map<String, String> headers, SignatureError expected) {
    SignatureRejectedException e = catchThrowableOfType(
        SignatureRejectedException.class, () -> verifier.verify(call(headers), resolver));
    assertThat(e).as("rejection").isNotNull();
    assertThat(e.error()).isEqualTo(expected);
    return e;
  }
}
