package org.apsara.nuwa.server.auth;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import java.time.Duration;
import java.time.Instant;
import org.apsara.nuwa.server.auth.proto.TokenClaims;
import org.apsara.testkit.TestClock;
import org.junit.jupiter.api.Test;

class TokenCodecTest {
  private static final ByteString KEY = ByteString.copyFromUtf8("0123456789abcdef0123456789abcdef");
  private final TestClock clock = new TestClock(Instant.parse("2026-01-01T00:00:00Z"));
  private final TokenCodec codec = new TokenCodec(clock, Duration.ofMinutes(5));

  @Test
  void aSignedTokenCarriesItsClaimsUntilItExpires() {
    String token = codec.sign(KEY, "alice", 7);
    TokenClaims claims = codec.verify(KEY, token, true).orElseThrow();
    assertThat(claims.getUser()).isEqualTo("alice");
    assertThat(claims.getAuthRevision()).isEqualTo(7);

    clock.advance(Duration.ofMinutes(5).minusMillis(1));
    assertThat(codec.verify(KEY, token, true)).isPresent();
    clock.advance(Duration.ofMillis(1));
    assertThat(codec.verify(KEY, token, true)).isEmpty();
    // Lease keep-alives accept an expired token that is otherwise sound.
    assertThat(codec.verify(KEY, token, false)).isPresent();
  }

  @Test
  void aTokenSignedWithAnotherKeyOrAlteredIsRefused() {
    String token = codec.sign(KEY, "alice", 7);
    assertThat(codec.verify(ByteString.copyFromUtf8("another key, also 32 bytes long!"), token,
        true)).isEmpty();
    // Claim to be root by swapping the claims of another token in.
    String root = codec.sign(ByteString.copyFromUtf8("attacker's own key of 32 bytes!!"), "root", 7);
    String forged = root.substring(0, root.lastIndexOf('.')) + token.substring(token.lastIndexOf('.'));
    assertThat(codec.verify(KEY, forged, true)).isEmpty();
    char last = token.charAt(token.length() - 1);
    String flipped = token.substring(0, token.length() - 1) + (last == 'A' ? 'B' : 'A');
    assertThat(codec.verify(KEY, flipped, true)).isEmpty();
  }

  @Test
  void malformedTokensAreRefusedWithoutThrowing() {
    for (String bad : new String[] {"", "x", "nuwa1.", "nuwa1.abc", "nuwa1.!!!.???", "nuwa1..",
        "simple.token.123", "nuwa1." + "A".repeat(TokenCodec.MAX_TOKEN_CHARS) + ".x"}) {
      assertThat(codec.verify(KEY, bad, true)).as(bad).isEmpty();
    }
    assertThat(codec.verify(KEY, null, true)).isEmpty();
    // Before authentication was ever enabled there is no key: nothing verifies.
    assertThat(codec.verify(ByteString.EMPTY, codec.sign(KEY, "alice", 1), true)).isEmpty();
  }
}
