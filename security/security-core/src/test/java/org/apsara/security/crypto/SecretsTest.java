package org.apsara.security.crypto;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.apsara.security.sign.AccessKeyCredentials;
import org.junit.jupiter.api.Test;

class SecretsTest {
  @Test
  void accessKeyIdsLookLikeAlibabaCloudOnes() {
    String id = Secrets.newAccessKeyId();

    assertThat(id).hasSize(Secrets.ACCESS_KEY_ID_LENGTH).startsWith("LTAI").matches("[A-Za-z0-9]+");
    assertThat(Secrets.newAccessKeySecret())
        .hasSize(Secrets.ACCESS_KEY_SECRET_LENGTH).matches("[A-Za-z0-9]+");
    // Generated pairs are valid signing credentials.
    new AccessKeyCredentials(id, Secrets.newAccessKeySecret());
  }

  @Test
  void valuesAreDistinctAndUseTheWholeAlphabetEvenly() {
    Set<String> secrets = new HashSet<>();
    Map<Character, Integer> counts = new HashMap<>();
    int draws = 2000;
    for (int i = 0; i < draws; i++) {
      String secret = Secrets.newAccessKeySecret();
      assertThat(secrets.add(secret)).isTrue();
      for (char c : secret.toCharArray()) {
        counts.merge(c, 1, Integer::sum);
      }
    }

    // 60,000 characters over 62 symbols: about 968 each; a biased or truncated alphabet shows
    // far outside these bounds, while chance alone stays within them (more than 8 sigma).
    assertThat(counts).hasSize(62);
    assertThat(counts.values()).allSatisfy(count -> assertThat(count).isBetween(700, 1250));
    assertThat(Secrets.newAccessKeyId()).isNotEqualTo(Secrets.newAccessKeyId());
  }
}
