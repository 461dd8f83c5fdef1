package org.apsara.security.sign;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.apsara.testkit.TestClock;
import org.junit.jupiter.api.Test;

/**
 * {@link SignatureVerifier#verifyScoped}: what a service that holds only derived keys accepts and
 * rejects.
 */
class ScopedSignatureVerifierTest {
  private static final Instant NOW = Instant.parse("2024-05-01T08:00:00Z");
  private static final String METHOD = "apsara.pangu.v1.Master/Stat";
  private static final String AUTHORITY = "pangu.example:7100";
  private static final String HASH = SignatureV3.sha256Hex(new byte[] {1, 2, 3});
  private static final ServiceScope PANGU = new ServiceScope("cn-test", "pangu");
  private static final ServiceScope FUXI = new ServiceScope("cn-test", "fuxi");
  private static final AccessKeyCredentials ALICE =
      new AccessKeyCredentials("LTAIalice000000000000000", "alice-secret");
  private static final AccessKeyCredentials BOB =
      new AccessKeyCredentials("LTAIbob00000000000000000", "bob-secret");
  private static final Principal ALICE_PRINCIPAL =
      new Principal("acme", "alice", ALICE.accessKeyId());
  private static final Principal BOB_PRINCIPAL = new Principal("acme", "bob", BOB.accessKeyId());

  private final TestClock serverClock = new TestClock(NOW);
  private final TestClock clientClock = new TestClock(NOW);
  private final AtomicInteger nonceCounter = new AtomicInteger();
  private final SignatureVerifier verifier = new SignatureVerifier(serverClock, new NonceCache(100));
  /** Every scope the resolver was asked for, to show which rejections come before any lookup. */
  private final List<CredentialScope> lookups = new ArrayList<>();
  /** Answers as the identity service would: the key derived for the scope asked, never a secret. */
  private final SigningKeyResolver resolver = (id, scope) -> {
    lookups.add(scope);
    return switch (id) {
      case "LTAIalice000000000000000" -> Optional.of(new ResolvedSigningKey(
          ScopedSignature.deriveSigningKey(ALICE.accessKeySecret(), scope), true,
          ALICE_PRINCIPAL));
      case "LTAIbob00000000000000000" -> Optional.of(new ResolvedSigningKey(
          ScopedSignature.deriveSigningKey(BOB.accessKeySecret(), scope), false, BOB_PRINCIPAL));
      default -> Optional.empty();
    };
  };

  @Test
  void acceptsACallSignedForThisServiceToday() throws Exception {
    VerifiedRequest verified = verifier.verifyScoped(call(sign(ALICE, PANGU)), PANGU, resolver);

    assertThat(verified.principal()).isEqualTo(ALICE_PRINCIPAL);
    assertThat(verified.contentSha256()).isEqualTo(HASH);
    assertThat(lookups).containsExactly(CredentialScope.of(NOW, PANGU));
  }

  @Test
  void aSignatureForAnotherServiceIsRefusedBeforeAnyKeyLookup() {
    SignatureRejectedException e =
        assertRejected(sign(ALICE, FUXI), SignatureError.INVALID_CREDENTIAL_SCOPE);

    assertThat(e.getMessage()).contains("for service fuxi in region cn-test")
        .contains("this is service pangu in region cn-test");
    assertThat(lookups).isEmpty();
  }

  @Test
  void aSignatureForAnotherRegionIsRefused() {
    SignatureRejectedException e = assertRejected(
        sign(ALICE, new ServiceScope("cn-other", "pangu")), SignatureError.INVALID_CREDENTIAL_SCOPE);

    assertThat(e.getMessage()).contains("region cn-other").contains("region cn-test");
  }

  @Test
  void theScopeDateMustBeTheDayOfTheTimestamp() throws Exception {
    Map<String, String> headers = sign(ALICE, PANGU);
    ScopedAuthorizationHeader signed =
        ScopedAuthorizationHeader.parse(headers.get("authorization"));
    CredentialScope yesterday = new CredentialScope(LocalDate.of(2024, 4, 30), "cn-test", "pangu");
    headers.put("authorization", new ScopedAuthorizationHeader(signed.accessKeyId(), yesterday,
        signed.signedHeaders(), signed.signature()).format());

    SignatureRejectedException e = assertRejected(headers, SignatureError.INVALID_CREDENTIAL_SCOPE);
    assertThat(e.getMessage()).contains("20240430").contains("2024-05-01T08:00:00Z");
  }

  @Test
  void keysDerivedForAnotherServiceDayOrRegionDoNotVerify() {
    // Whoever holds a key derived for another scope (fuxi's, yesterday's, another region's) and
    // claims this one produces a signature that this scope's key does not reproduce.
    List<CredentialScope> foreign = List.of(
        new CredentialScope(LocalDate.of(2024, 5, 1), "cn-test", "fuxi"),
        new CredentialScope(LocalDate.of(2024, 4, 30), "cn-test", "pangu"),
        new CredentialScope(LocalDate.of(2024, 5, 1), "cn-other", "pangu"));
    for (CredentialScope scope : foreign) {
      byte[] foreignKey = ScopedSignature.deriveSigningKey(ALICE.accessKeySecret(), scope);
      Map<String, String> headers = signWithKey(foreignKey);

      assertRejected(headers, SignatureError.SIGNATURE_MISMATCH);
    }
    assertThat(verifierAccepts(signWithKey(
        ScopedSignature.deriveSigningKey(ALICE.accessKeySecret(), CredentialScope.of(NOW, PANGU)))))
        .as("the same construction with the right key").isTrue();
  }

  @Test
  void tamperedRequestsAreRejected() {
    Map<String, String> hash = sign(ALICE, PANGU);
    hash.put("x-acs-content-sha256", SignatureV3.sha256Hex(new byte[] {9}));
    assertRejected(hash, SignatureError.SIGNATURE_MISMATCH);

    Map<String, String> date = sign(ALICE, PANGU);
    date.put("x-acs-date", "2024-05-01T08:00:01Z");
    assertRejected(date, SignatureError.SIGNATURE_MISMATCH);

    Map<String, String> signature = sign(ALICE, PANGU);
    String value = signature.get("authorization");
    char last = value.charAt(value.length() - 1);
    signature.put("authorization",
        value.substring(0, value.length() - 1) + (last == '0' ? '1' : '0'));
    SignatureRejectedException e = assertRejected(signature, SignatureError.SIGNATURE_MISMATCH);
    assertThat(e.getMessage()).contains("APSARA4-HMAC-SHA256\\n2024-05-01T08:00:00Z\\n"
        + "20240501/cn-test/pangu/apsara4_request\\n");

    Map<String, String> other = sign(ALICE, PANGU);
    assertThat(catchThrowableOfType(SignatureRejectedException.class, () -> verifier.verifyScoped(
        new SignedCall("apsara.pangu.v1.Master/Delete", AUTHORITY, true, other), PANGU, resolver))
        .error()).isEqualTo(SignatureError.SIGNATURE_MISMATCH);
  }

  @Test
  void anAcs3SignatureIsRefusedWithAClearMessage() {
    Map<String, String> headers = new HashMap<>(new RequestSigner(ALICE, clientClock, () -> "n1")
        .signGrpcCall(METHOD, AUTHORITY, HASH));

    SignatureRejectedException e = assertRejected(headers, SignatureError.INVALID_AUTHORIZATION);
    assertThat(e.getMessage()).contains("accepts only APSARA4-HMAC-SHA256")
        .contains("ACS3-HMAC-SHA256 signatures are for the identity service");
  }

  @Test
  void unknownAndDisabledKeysAreRejectedAsWithAcs3() {
    AccessKeyCredentials stranger = new AccessKeyCredentials("LTAIstranger000000000000", "s");
    assertRejected(sign(stranger, PANGU), SignatureError.ACCESS_KEY_NOT_FOUND);
    assertRejected(sign(BOB, PANGU), SignatureError.ACCESS_KEY_INACTIVE);
  }

  @Test
  void replaysAndStaleTimestampsAreRejected() throws Exception {
    Map<String, String> headers = sign(ALICE, PANGU);
    verifier.verifyScoped(call(headers), PANGU, resolver);
    assertRejected(headers, SignatureError.NONCE_USED);

    clientClock.set(NOW.minus(SignatureVerifier.ALLOWED_CLOCK_SKEW).minusSeconds(1));
    assertRejected(sign(ALICE, PANGU), SignatureError.TIMESTAMP_EXPIRED);
  }

  @Test
  void aResolverThatCannotAnswerRejectsWithItsOwnError() {
    SigningKeyResolver unreachable = (id, scope) -> {
      throw new SignatureRejectedException(
          SignatureError.SIGNING_KEY_UNAVAILABLE, "identity service unreachable", id);
    };

    SignatureRejectedException e = catchThrowableOfType(SignatureRejectedException.class,
        () -> verifier.verifyScoped(call(sign(ALICE, PANGU)), PANGU, unreachable));

    assertThat(e.error()).isEqualTo(SignatureError.SIGNING_KEY_UNAVAILABLE);
  }

  private boolean verifierAccepts(Map<String, String> headers) {
    try {
      verifier.verifyScoped(call(headers), PANGU, resolver);
      return true;
    } catch (SignatureRejectedException e) {
      return false;
    }
  }

  private Map<String, String> sign(AccessKeyCredentials credentials, ServiceScope scope) {
    String nonce = "nonce" + nonceCounter.incrementAndGet();
    return new HashMap<>(RequestSigner.scoped(credentials, scope, clientClock, () -> nonce)
        .signGrpcCall(METHOD, AUTHORITY, HASH));
  }

  /** Alice's request to pangu today, with its signature recomputed under {@code key}. */
  private Map<String, String> signWithKey(byte[] key) {
    Map<String, String> headers = sign(ALICE, PANGU);
    Map<String, String> signed = new HashMap<>(headers);
    signed.remove("authorization");
    signed.put("host", AUTHORITY);
    CredentialScope scope = CredentialScope.of(NOW, PANGU);
    String stringToSign = ScopedSignature.stringToSign(headers.get("x-acs-date"), scope,
        SignatureV3.grpcCanonicalRequest(METHOD, signed, HASH));
    headers.put("authorization", new ScopedAuthorizationHeader(ALICE.accessKeyId(), scope,
        List.copyOf(new java.util.TreeSet<>(signed.keySet())),
        ScopedSignature.signature(key, stringToSign)).format());
    return headers;
  }

  private static SignedCall call(Map<String, String> headers) {
    return new SignedCall(METHOD, AUTHORITY, true, headers);
  }

  private SignatureRejectedException assertRejected(
      Map<String, String> headers, SignatureError expected) {
    SignatureRejectedException e = catchThrowableOfType(SignatureRejectedException.class,
        () -> verifier.verifyScoped(call(headers), PANGU, resolver));
    assertThat(e).as("rejection").isNotNull();
    assertThat(e.error()).isEqualTo(expected);
    return e;
  }
}
