package org.apsara.security.sign;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.time.Clock;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The scoped signature's key derivation, string to sign and header, against pinned values. */
class ScopedSignatureTest {
  private static final AccessKeyCredentials CREDENTIALS =
      new AccessKeyCredentials("LTAI4GExampleAccessKey01", "ExampleSecretForApsaraTests000");
  private static final Clock CLOCK =
      Clock.fixed(Instant.parse("2024-05-01T08:00:00.250Z"), ZoneOffset.UTC);
  private static final String HELLO_SHA256 =
      "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
  private static final CredentialScope SCOPE =
      new CredentialScope(LocalDate.of(2024, 5, 1), "cn-test", "pangu");

  // Computed once with Python's hmac and hashlib from the formulas in docs/security.md, apart from
  // this code, and pinned: a change of the derivation or of the string to sign breaks every
  // deployed client, so it must fail here first.
  private static final String SIGNING_KEY_HEX =
      "975d4bfdd99c4cb2f349f630911eaeb31aa9ab65fb632d6d4549591c15243edb";
  private static final String STRING_TO_SIGN = "APSARA4-HMAC-SHA256\n"
      + "2024-05-01T08:00:00Z\n"
      + "20240501/cn-test/pangu/apsara4_request\n"
      + "4dcdd11465c3c083fcb43fb0f71f04445793f4ea8dc88e00aa1395451ec8243e";
  private static final String SIGNATURE =
      "a8d75ada15fad956d4b7773a3fcd9cf48b785e4b2aa523c2a0b14ff5b8812393";

  @Test
  void derivesThePinnedSigningKey() {
    byte[] key = ScopedSignature.deriveSigningKey(CREDENTIALS.accessKeySecret(), SCOPE);

    assertThat(HexFormat.of().formatHex(key)).isEqualTo(SIGNING_KEY_HEX);
  }

  @Test
  void signsAGrpcCallWithThePinnedSignature() {
    RequestSigner signer = RequestSigner.scoped(CREDENTIALS, new ServiceScope("cn-test", "pangu"),
        CLOCK, () -> "0123456789abcdef0123456789abcdef");

    Map<String, String> headers =
        signer.signGrpcCall("etcdserverpb.KV/Put", "nuwa.example:2379", HELLO_SHA256);

    // The same canonical request as the V3 known answer of RequestSignerTest.
    assertThat(headers).containsExactly(
        Map.entry("x-acs-action", "etcdserverpb.KV/Put"),
        Map.entry("x-acs-content-sha256", HELLO_SHA256),
        Map.entry("x-acs-date", "2024-05-01T08:00:00Z"),
        Map.entry("x-acs-signature-nonce", "0123456789abcdef0123456789abcdef"),
        Map.entry("authorization", "APSARA4-HMAC-SHA256 Credential=LTAI4GExampleAccessKey01/"
            + "20240501/cn-test/pangu/apsara4_request,"
            + "SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;"
            + "x-acs-signature-nonce,Signature=" + SIGNATURE));
    String canonicalRequest = SignatureV3.grpcCanonicalRequest("etcdserverpb.KV/Put", Map.of(
        "host", "nuwa.example:2379",
        "x-acs-action", "etcdserverpb.KV/Put",
        "x-acs-content-sha256", HELLO_SHA256,
        "x-acs-date", "2024-05-01T08:00:00Z",
        "x-acs-signature-nonce", "0123456789abcdef0123456789abcdef"), HELLO_SHA256);
    assertThat(ScopedSignature.stringToSign("2024-05-01T08:00:00Z", SCOPE, canonicalRequest))
        .isEqualTo(STRING_TO_SIGN);
  }

  @Test
  void everyFieldOfTheScopeDerivesADifferentKey() {
    String secret = CREDENTIALS.accessKeySecret();
    byte[] key = ScopedSignature.deriveSigningKey(secret, SCOPE);

    List<CredentialScope> others = List.of(
        new CredentialScope(LocalDate.of(2024, 5, 2), "cn-test", "pangu"),
        new CredentialScope(LocalDate.of(2024, 5, 1), "cn-other", "pangu"),
        new CredentialScope(LocalDate.of(2024, 5, 1), "cn-test", "fuxi"));
    for (CredentialScope other : others) {
      assertThat(ScopedSignature.deriveSigningKey(secret, other)).as(other.format())
          .isNotEqualTo(key);
    }
    assertThat(ScopedSignature.deriveSigningKey(secret + "x", SCOPE)).isNotEqualTo(key);
  }

  @Test
  void theSignerDerivesTheKeyOfEachDay() {
    org.apsara.testkit.TestClock clock =
        new org.apsara.testkit.TestClock(Instant.parse("2024-05-01T23:59:59Z"));
    RequestSigner signer = RequestSigner.scoped(CREDENTIALS, new ServiceScope("cn-test", "pangu"),
        clock, () -> "n");

    String before = signer.signGrpcCall("a.B/C", "h", HELLO_SHA256).get("authorization");
    clock.set(Instant.parse("2024-05-02T00:00:00Z"));
    String after = signer.signGrpcCall("a.B/C", "h", HELLO_SHA256).get("authorization");

    assertThat(before).contains("/20240501/cn-test/pangu/");
    assertThat(after).contains("/20240502/cn-test/pangu/");
  }

  @Test
  void credentialScopeRoundTripsAndRejectsWhatItCannotRead() {
    assertThat(CredentialScope.parse("20240501/cn-test/pangu/apsara4_request")).isEqualTo(SCOPE);
    assertThat(SCOPE.format()).isEqualTo("20240501/cn-test/pangu/apsara4_request");

    for (String bad : List.of("20240501/cn-test/pangu", "20240501/cn-test/pangu/aliyun_v4_request",
        "2024-05-01/cn-test/pangu/apsara4_request", "20240231/cn-test/pangu/apsara4_request",
        "20240501/CN/pangu/apsara4_request", "20240501//pangu/apsara4_request",
        "20240501/cn-test/pan/gu/apsara4_request")) {
      assertThatThrownBy(() -> CredentialScope.parse(bad)).as(bad)
          .isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void scopedHeaderRoundTripsAndIsStrict() throws Exception {
    ScopedAuthorizationHeader header = new ScopedAuthorizationHeader("LTAIx", SCOPE,
        List.of("host", "x-acs-date"), SIGNATURE);

    assertThat(ScopedAuthorizationHeader.parse(header.format())).isEqualTo(header);

    for (String bad : List.of(
        "APSARA4-HMAC-SHA256 Credential=LTAIx,SignedHeaders=host,Signature=" + SIGNATURE,
        "APSARA4-HMAC-SHA256 Credential=LTAIx/20240501/cn-test/pangu,SignedHeaders=host,Signature="
            + SIGNATURE,
        "APSARA4-HMAC-SHA256 Credential=LTAIx/20240501/cn-test/pangu/apsara4_request,"
            + "SignedHeaders=x-acs-date;host,Signature=" + SIGNATURE,
        "APSARA4-HMAC-SHA256 Credential=LTAIx/20240501/cn-test/pangu/apsara4_request,"
            + "SignedHeaders=host,Signature=ABC",
        "ACS3-HMAC-SHA256 Credential=LTAIx,SignedHeaders=host,Signature=" + SIGNATURE)) {
      SignatureRejectedException e = catchThrowableOfType(SignatureRejectedException.class,
          () -> ScopedAuthorizationHeader.parse(bad));
      assertThat(e).as(bad).isNotNull();
      assertThat(e.error()).isEqualTo(SignatureError.INVALID_AUTHORIZATION);
    }
  }

  @Test
  void neitherTheSignerNorTheResolvedKeyShowsSecrets() {
    byte[] key = ScopedSignature.deriveSigningKey(CREDENTIALS.accessKeySecret(), SCOPE);
    ResolvedSigningKey resolved =
        new ResolvedSigningKey(key, true, new Principal("acme", "alice", "LTAIx"));
    RequestSigner signer = RequestSigner.scoped(CREDENTIALS, new ServiceScope("cn-test", "pangu"),
        CLOCK, () -> "n");
    signer.signGrpcCall("a.B/C", "h", HELLO_SHA256);

    assertThat(resolved.toString()).doesNotContain(SIGNING_KEY_HEX).contains("<hidden>");
    assertThat(signer.toString())
        .doesNotContain(CREDENTIALS.accessKeySecret()).doesNotContain(SIGNING_KEY_HEX);
    // The record copies the key, so a holder cannot change what another verifies with.
    resolved.signingKey()[0] ^= 1;
    assertThat(resolved.signingKey()).isEqualTo(key);
    assertThat(resolved).isEqualTo(new ResolvedSigningKey(key.clone(), true,
        new Principal("acme", "alice", "LTAIx")));
  }
}
