package org.apsara.nuwa.server.auth;

import static org.assertj.core.api.Assertions.assertThat;

import org.apsara.nuwa.api.NuwaErrors;
import org.apsara.nuwa.server.auth.proto.PasswordHash;
import org.junit.jupiter.api.Test;

class PasswordHasherTest {
  private final PasswordHasher hasher = new PasswordHasher(PasswordHasher.MIN_ITERATIONS);

  @Test
  void theRightPasswordMatchesAndNothingElseDoes() {
    PasswordHash hash = hasher.hash("correct horse");
    assertThat(hash.getAlgorithm()).isEqualTo("PBKDF2WithHmacSHA256");
    assertThat(hash.getIterations()).isEqualTo(PasswordHasher.MIN_ITERATIONS);
    assertThat(hasher.matches("correct horse", hash)).isTrue();
    assertThat(hasher.matches("correct horse ", hash)).isFalse();
    assertThat(hasher.matches("", hash)).isFalse();
    // No such user, or one without password: never a match.
    assertThat(hasher.matches("correct horse", null)).isFalse();
    assertThat(hasher.matches("", null)).isFalse();
  }

  @Test
  void eachHashHasItsOwnSaltAndKeepsItsIterationCount() {
    PasswordHash first = hasher.hash("same");
    PasswordHash second = hasher.hash("same");
    assertThat(first.getSalt()).isNotEqualTo(second.getSalt());
    assertThat(first.getHash()).isNotEqualTo(second.getHash());
    // A hash made with another count still checks: the count travels with the hash.
    PasswordHash stronger = new PasswordHasher(PasswordHasher.MIN_ITERATIONS * 2).hash("same");
    assertThat(hasher.matches("same", stronger)).isTrue();
  }

  @Test
  void anEmptyPasswordIsAPasswordAndAnOverlongOneIsRefused() {
    assertThat(hasher.matches("", hasher.hash(""))).isTrue();
    AuthRecords.assertStatus(
        () -> hasher.hash("x".repeat(PasswordHasher.MAX_PASSWORD_BYTES + 1)),
        NuwaErrors.invalidArgument("password longer than " + PasswordHasher.MAX_PASSWORD_BYTES
            + " bytes").getStatus());
  }
}
