package org.apsara.security.sign;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

class RequestSignerTest {
  private static final AccessKeyCredentials CREDENTIALS =
      new AccessKeyCredentials("LTAI4GExampleAccessKey01", "ExampleSecretForApsaraTests000");
  private static final Clock CLOCK =
      Clock.fixed(Instant.parse("2024-05-01T08:00:00.250Z"), ZoneOffset.UTC);
  private static final String HELLO_SHA256 =
      "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

  @Test
  void producesTheHeadersComputedByHand() {
    RequestSigner signer =
        new RequestSigner(CREDENTIALS, CLOCK, () -> "0123456789abcdef0123456789abcdef");

    Map<String, String> headers =
        signer.signGrpcCall("etcdserverpb.KV/Put", "nuwa.example:2379", HELLO_SHA256);

    // Same inputs as SignatureV3Test#signsAGrpcCallAsComputedByHand, so the same signature.
    assertThat(headers).containsExactly(
        Map.entry("x-acs-action", "etcdserverpb.KV/Put"),
        Map.entry("x-acs-content-sha256", HELLO_SHA256),
        Map.entry("x-acs-date", "2024-05-01T08:00:00Z"),
        Map.entry("x-acs-signature-nonce", "0123456789abcdef0123456789abcdef"),
        Map.entry("authorization", "ACS3-HMAC-SHA256 Credential=LTAI4GExampleAccessKey01,"
            + "SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;"
            + "x-acs-signature-nonce,"
            + "Signature=d51ea689eb3616f9735150f7befd0375c13ea9175130f92e365e108d59dfe6ae"));
  }

  @Test
  void randomNoncesAreValidAndDistinct() {
    Supplier<String> nonces = RequestSigner.randomNonces();
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < 1000; i++) {
      String nonce = nonces.get();
      assertThat(nonce).hasSize(2 * RequestSigner.NONCE_RANDOM_BYTES).matches("[0-9a-f]+");
      assertThat(seen.add(nonce)).isTrue();
    }
  }

  @Test
  void rejectsWhatCannotBeSigned() {
    RequestSigner signer = new RequestSigner(CREDENTIALS, CLOCK, () -> "bad nonce");

    assertThatThrownBy(() -> signer.signGrpcCall("a.B/C", "h", "not-a-hash"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> signer.signGrpcCall("a.B/C", "h", SignatureV3.UNSIGNED_PAYLOAD))
        .isInstanceOf(IllegalStateException.class);
  }

  @Test
  void credentialsNeverShowTheSecret() {
    assertThat(CREDENTIALS.toString())
        .contains("LTAI4GExampleAccessKey01")
        .doesNotContain("ExampleSecretForApsaraTests000");
    ResolvedAccessKey resolved = new ResolvedAccessKey("ExampleSecretForApsaraTests000", true,
        new Principal("1234", "alice", "LTAI4GExampleAccessKey01"));
    assertThat(resolved.toString()).doesNotContain("ExampleSecretForApsaraTests000");
    assertThat(new RequestSigner(CREDENTIALS, CLOCK, () -> "n").toString())
        .doesNotContain("ExampleSecretForApsaraTests000");
  }

  @Test
  void principalArnIsRamStyle() {
    assertThat(new Principal("1234", "alice", "LTAIx").arn()).isEqualTo("acs:ram::1234:user/alice");
    assertThatThrownBy(() -> new Principal("12:34", "alice", "LTAIx"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new Principal("1234", "al/ice", "LTAIx"))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
