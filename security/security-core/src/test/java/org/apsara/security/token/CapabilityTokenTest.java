package org.apsara.security.token;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.apsara.testkit.TestClock;
import org.junit.jupiter.api.Test;

class CapabilityTokenTest {
  private static final Instant NOW = Instant.parse("2024-05-01T08:00:00Z");
  private static final String SUBJECT = "acs:ram::1234:user/alice";
  private static final Duration LIFETIME = Duration.ofMinutes(5);
  private static final Duration SKEW = CapabilityTokenVerifier.ALLOWED_CLOCK_SKEW;

  private final TestClock clock = new TestClock(NOW);
  private final TokenKey key1 = key("k1", 1);
  private final TokenKey key2 = key("k2", 2);
  private final CapabilityTokenIssuer issuer = new CapabilityTokenIssuer(key1, clock);
  private final CapabilityTokenVerifier verifier =
      new CapabilityTokenVerifier(List.of(key1), clock);

  @Test
  void roundTrip() throws Exception {
    String token = issuer.issue(SUBJECT, "chunk/123", Set.of("write", "read"), LIFETIME);

    CapabilityToken contents = verifier.verify(token, "chunk/123", "read");

    assertThat(token).matches("[A-Za-z0-9_-]+");
    assertThat(contents).isEqualTo(new CapabilityToken(
        "k1", SUBJECT, "chunk/123", Set.of("read", "write"), NOW, NOW.plus(LIFETIME)));
    assertThat(contents.operations()).containsExactly("read", "write");
    assertThat(verifier.verify(token, "chunk/123", "write")).isEqualTo(contents);
  }

  @Test
  void everyChangedCharacterIsRejected() {
    String token = issuer.issue(SUBJECT, "chunk/123", Set.of("read"), LIFETIME);

    for (int i = 0; i < token.length(); i++) {
      char original = token.charAt(i);
      for (char replacement : new char[] {'A', 'B', '_'}) {
        if (replacement == original) {
          continue;
        }
        String tampered = token.substring(0, i) + replacement + token.substring(i + 1);
        assertThat(catchThrowableOfType(CapabilityTokenException.class,
            () -> verifier.verify(tampered, "chunk/123", "read")))
            .as("token with character %d changed to %s", i, replacement)
            .isNotNull();
      }
    }
  }

  @Test
  void aTokenHasOnlyOneStringForm() {
    // Base64 decoders ignore the unused low bits of a final partial character, so a token whose
    // length is not a multiple of 3 bytes has several strings decoding to the same bytes; only
    // the canonical one is accepted.
    String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for (String resource : List.of("chunk/1", "chunk/12", "chunk/123")) {
      String token = issuer.issue(SUBJECT, resource, Set.of("read"), LIFETIME);
      if (token.length() % 4 == 0) {
        continue; // no partial character
      }
      char last = token.charAt(token.length() - 1);
      char sibling = alphabet.charAt(alphabet.indexOf(last) ^ 1);
      String twin = token.substring(0, token.length() - 1) + sibling;
      assertThat(Base64.getUrlDecoder().decode(twin)).isEqualTo(Base64.getUrlDecoder().decode(token));

      assertRejected(twin, resource, "read", TokenRejection.MALFORMED);
    }
  }

  @Test
  void everyFlippedBitIsRejected() {
    byte[] bytes = Base64.getUrlDecoder().decode(
        issuer.issue(SUBJECT, "chunk/123", Set.of("read"), LIFETIME));

    for (int i = 0; i < bytes.length; i++) {
      for (int bit = 0; bit < 8; bit++) {
        byte[] tampered = bytes.clone();
        tampered[i] ^= (byte) (1 << bit);
        String encoded = Base64.getUrlEncoder().withoutPadding().encodeToString(tampered);
        assertThat(catchThrowableOfType(CapabilityTokenException.class,
            () -> verifier.verify(encoded, "chunk/123", "read")))
            .as("byte %d bit %d flipped", i, bit)
            .isNotNull();
      }
    }
  }

  @Test
  void changedFieldsWithTheOriginalSignatureAreRejectedAsBadSignature() {
    String original = issuer.issue(SUBJECT, "chunk/123", Set.of("read"), LIFETIME);
    byte[] originalMac = macOf(original);
    List<CapabilityToken> forgeries = List.of(
        new CapabilityToken("k1", "acs:ram::1234:user/mallory", "chunk/123", Set.of("read"),
            NOW, NOW.plus(LIFETIME)),
        new CapabilityToken("k1", SUBJECT, "chunk/124", Set.of("read"), NOW, NOW.plus(LIFETIME)),
        new CapabilityToken("k1", SUBJECT, "chunk/123", Set.of("read", "write"), NOW,
            NOW.plus(LIFETIME)),
        new CapabilityToken("k1", SUBJECT, "chunk/123", Set.of("read"), NOW.minusSeconds(1),
            NOW.plus(LIFETIME)),
        new CapabilityToken("k1", SUBJECT, "chunk/123", Set.of("read"), NOW,
            NOW.plus(LIFETIME).plusSeconds(1)));

    for (CapabilityToken forgery : forgeries) {
      // Encode the forged contents with some key, then put the genuine token's MAC on them.
      byte[] bytes = Base64.getUrlDecoder().decode(TokenCodec.encode(forgery, key2));
      System.arraycopy(originalMac, 0, bytes, bytes.length - TokenCodec.MAC_BYTES,
          TokenCodec.MAC_BYTES);
      String encoded = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);

      CapabilityTokenException e = catchThrowableOfType(CapabilityTokenException.class,
          () -> verifier.verify(encoded, forgery.resource(), "read"));
      assertThat(e.reason()).as("forgery %s", forgery).isEqualTo(TokenRejection.BAD_SIGNATURE);
    }
  }

  @Test
  void expiryEdges() throws Exception {
    String token = issuer.issue(SUBJECT, "chunk/1", Set.of("read"), LIFETIME);

    clock.set(NOW.plus(LIFETIME).plus(SKEW));
    verifier.verify(token, "chunk/1", "read");
    clock.set(NOW.plus(LIFETIME).plus(SKEW).plusMillis(1));
    assertRejected(token, "chunk/1", "read", TokenRejection.EXPIRED);
  }

  @Test
  void issueTimeEdges() throws Exception {
    String token = issuer.issue(SUBJECT, "chunk/1", Set.of("read"), LIFETIME);

    clock.set(NOW.minus(SKEW));
    verifier.verify(token, "chunk/1", "read");
    clock.set(NOW.minus(SKEW).minusMillis(1));
    assertRejected(token, "chunk/1", "read", TokenRejection.NOT_YET_VALID);
  }

  @Test
  void wrongResourceOrOperation() {
    String token = issuer.issue(SUBJECT, "chunk/1", Set.of("read"), LIFETIME);

    assertRejected(token, "chunk/2", "read", TokenRejection.RESOURCE_MISMATCH);
    assertRejected(token, "chunk/1", "write", TokenRejection.OPERATION_NOT_GRANTED);
  }

  @Test
  void unknownKeyId() {
    String token = new CapabilityTokenIssuer(key2, clock).issue(SUBJECT, "chunk/1", Set.of("read"),
        LIFETIME);

    assertRejected(token, "chunk/1", "read", TokenRejection.UNKNOWN_KEY_ID);
  }

  @Test
  void sameIdOtherSecretIsABadSignature() {
    String token = new CapabilityTokenIssuer(key("k1", 3), clock)
        .issue(SUBJECT, "chunk/1", Set.of("read"), LIFETIME);

    assertRejected(token, "chunk/1", "read", TokenRejection.BAD_SIGNATURE);
  }

  @Test
  void rotation() throws Exception {
    String oldToken = issuer.issue(SUBJECT, "chunk/1", Set.of("read"), LIFETIME);
    String newToken =
        new CapabilityTokenIssuer(key2, clock).issue(SUBJECT, "chunk/1", Set.of("read"), LIFETIME);
    CapabilityTokenVerifier during = new CapabilityTokenVerifier(List.of(key1, key2), clock);
    CapabilityTokenVerifier after = new CapabilityTokenVerifier(List.of(key2), clock);

    assertThat(during.verify(oldToken, "chunk/1", "read").keyId()).isEqualTo("k1");
    assertThat(during.verify(newToken, "chunk/1", "read").keyId()).isEqualTo("k2");
    assertThat(after.verify(newToken, "chunk/1", "read").keyId()).isEqualTo("k2");
    assertThat(catchThrowableOfType(CapabilityTokenException.class,
        () -> after.verify(oldToken, "chunk/1", "read")).reason())
        .isEqualTo(TokenRejection.UNKNOWN_KEY_ID);
    assertThatThrownBy(() -> new CapabilityTokenVerifier(List.of(key1, key("k1", 9)), clock))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void lifetimeIsBounded() {
    assertThatThrownBy(() -> issuer.issue(SUBJECT, "chunk/1", Set.of("read"),
        CapabilityToken.LIFETIME_MAX.plusMillis(1)))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> issuer.issue(SUBJECT, "chunk/1", Set.of("read"), Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class);

    // A token signed with a valid key but a lifetime above the maximum is still refused.
    String tooLong = TokenCodec.encode(new CapabilityToken("k1", SUBJECT, "chunk/1", Set.of("read"),
        NOW, NOW.plus(CapabilityToken.LIFETIME_MAX).plusSeconds(1)), key1);
    assertRejected(tooLong, "chunk/1", "read", TokenRejection.LIFETIME_TOO_LONG);
  }

  @Test
  void sizeIsBounded() {
    String longest = TokenCodec.encode(new CapabilityToken(
        "k".repeat(CapabilityToken.KEY_ID_LENGTH_MAX),
        "s".repeat(CapabilityToken.FIELD_BYTES_MAX),
        "r".repeat(CapabilityToken.FIELD_BYTES_MAX),
        Set.of("a", "b", "c", "d", "e", "f", "g", "h").stream()
            .map(op -> op.repeat(CapabilityToken.OPERATION_LENGTH_MAX))
            .collect(java.util.stream.Collectors.toSet()),
        NOW, NOW.plus(LIFETIME)), key1);

    assertThat(longest.length()).isLessThanOrEqualTo(CapabilityToken.ENCODED_LENGTH_MAX);
    assertRejected("A".repeat(CapabilityToken.ENCODED_LENGTH_MAX + 1), "r", "read",
        TokenRejection.MALFORMED);
    assertThatThrownBy(() -> issuer.issue(SUBJECT, "r".repeat(CapabilityToken.FIELD_BYTES_MAX + 1),
        Set.of("read"), LIFETIME)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void garbageIsMalformed() {
    Random random = new Random(42);
    for (int i = 0; i < 200; i++) {
      byte[] bytes = new byte[random.nextInt(120)];
      random.nextBytes(bytes);
      String garbage = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
      CapabilityTokenException e = catchThrowableOfType(CapabilityTokenException.class,
          () -> verifier.verify(garbage, "chunk/1", "read"));
      assertThat(e.reason()).as("garbage %s", garbage)
          .isIn(TokenRejection.MALFORMED, TokenRejection.UNKNOWN_KEY_ID);
    }
    assertRejected("not base64!", "chunk/1", "read", TokenRejection.MALFORMED);
    assertRejected("", "chunk/1", "read", TokenRejection.MALFORMED);
  }

  @Test
  void keysNeverShowTheirSecret() {
    assertThat(key1.toString()).isEqualTo("TokenKey[keyId=k1]");
  }

  private void assertRejected(
      String token, String resource, String operation, TokenRejection expected) {
    CapabilityTokenException e = catchThrowableOfType(
        CapabilityTokenException.class, () -> verifier.verify(token, resource, operation));
    assertThat(e).as("rejection").isNotNull();
    assertThat(e.reason()).isEqualTo(expected);
  }

  private static byte[] macOf(String token) {
    byte[] bytes = Base64.getUrlDecoder().decode(token);
    return java.util.Arrays.copyOfRange(bytes, bytes.length - TokenCodec.MAC_BYTES, bytes.length);
  }

  private static TokenKey key(String id, int seed) {
    byte[] secret = new byte[TokenKey.SECRET_BYTES];
    new Random(seed).nextBytes(secret);
    return TokenKey.of(id, secret);
  }
}
