package org.apsara.security.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class GlobMatcherTest {

  @ParameterizedTest(name = "\"{0}\" vs \"{1}\" (ignoreCase={2}) -> {3}")
  @CsvSource(
      delimiter = '|',
      textBlock =
          """
          # pattern          | text                   | ignoreCase | matches
          ''                 | ''                     | false      | true
          ''                 | a                      | false      | false
          *                  | ''                     | false      | true
          *                  | anything:at/all        | false      | true
          **                 | ''                     | false      | true
          ?                  | ''                     | false      | false
          ?                  | a                      | false      | true
          ?                  | ab                     | false      | false
          a*                 | a                      | false      | true
          *a                 | a                      | false      | true
          a*b                | ab                     | false      | true
          a*b                | axxb                   | false      | true
          a*b                | axxbx                  | false      | false
          a*b*c              | abbbc                  | false      | true
          a*b*c              | acb                    | false      | false
          *ab                | aab                    | false      | true
          *aab               | aaab                   | false      | true
          a?c                | abc                    | false      | true
          a?c                | ac                     | false      | false
          *?                 | ''                     | false      | false
          ?*?                | ab                     | false      | true
          ?*?                | a                      | false      | false
          file/*             | file/                  | false      | true
          file/*             | file                   | false      | false
          file/*             | file/a/b/c             | false      | true
          acs:*:file/x       | acs:pangu:r:t:file/x   | false      | true
          # A wildcard in the text has no special meaning; only one in the pattern matches it.
          a*                 | a*                     | false      | true
          a\\*               | a*                     | false      | false
          *                  | *                      | false      | true
          abc                | ABC                    | false      | false
          abc                | ABC                    | true       | true
          pangu:*            | PANGU:ReadFile         | true       | true
          nuwa:Get*          | nuwa:getrange          | true       | true
          nuwa:Get*          | nuwa:Put               | true       | false
          """)
  void matchesAsTabulated(String pattern, String text, boolean ignoreCase, boolean expected) {
    assertThat(GlobMatcher.matches(pattern, text, ignoreCase)).isEqualTo(expected);
  }

  @Test
  void questionMarkMatchesOneCharacterOutsideTheBasicPlane() {
    String emoji = "\uD83D\uDE00"; // one code point, two UTF-16 chars
    assertThat(GlobMatcher.matches("file/?", "file/" + emoji, false)).isTrue();
    assertThat(GlobMatcher.matches("file/??", "file/" + emoji, false)).isFalse();
    assertThat(GlobMatcher.matches("*?", emoji, false)).isTrue();
    assertThat(GlobMatcher.matches("*" + emoji, "x" + emoji, false)).isTrue();
  }

  @Test
  void ignoringCaseFoldsNonAsciiLettersToo() {
    assertThat(GlobMatcher.matches("STRASSE-Ä", "strasse-ä", true)).isTrue();
    assertThat(GlobMatcher.matches("STRASSE-Ä", "strasse-ä", false)).isFalse();
  }

  /**
   * Patterns that make a backtracking regular expression take exponential time; e.g. the regex
   * equivalent of the first, {@code (a.*){30}b}, does not finish in hours on this text. The
   * time limit is generous because the machine may be busy: the work is a few million steps,
   * while an exponential matcher would need hours.
   */
  @Test
  void pathologicalPatternsFinishQuickly() {
    String manyAs = "a".repeat(10_000);
    assertTimeoutPreemptively(
        Duration.ofSeconds(60),
        () -> {
          assertThat(GlobMatcher.matches("a*".repeat(30) + "b", manyAs, false)).isFalse();
          assertThat(GlobMatcher.matches("*a".repeat(30) + "*b", manyAs, false)).isFalse();
          assertThat(GlobMatcher.matches("*?".repeat(200) + "b", manyAs, false)).isFalse();
          assertThat(GlobMatcher.matches("*" + "a".repeat(200) + "b", manyAs, false)).isFalse();
          assertThat(GlobMatcher.matches("*a".repeat(30), manyAs, false)).isTrue();
          // The longest pattern a policy can hold against a long resource name.
          String longPattern = "*a".repeat(PolicyLimits.MAX_DOCUMENT_CHARS / 2 - 1) + "*b";
          assertThat(GlobMatcher.matches(longPattern, manyAs, true)).isFalse();
        });
  }

  /** Compares with a plainly recursive reference matcher on many small random cases. */
  @Test
  void agreesWithReferenceMatcherOnRandomInputs() {
    long seed = 20240531L;
    Random random = new Random(seed);
    for (int round = 0; round < 100_000; round++) {
      String pattern = randomString(random, "ab*?A", 7);
      String text = randomString(random, "abA", 9);
      boolean ignoreCase = random.nextBoolean();
      boolean expected = referenceMatches(pattern, 0, text, 0, ignoreCase);
      if (GlobMatcher.matches(pattern, text, ignoreCase) != expected) {
        fail("seed %d round %d: pattern \"%s\" text \"%s\" ignoreCase %s: expected %s",
            seed, round, pattern, text, ignoreCase, expected);
      }
    }
  }

  private static String randomString(Random random, String alphabet, int maxLength) {
    int length = random.nextInt(maxLength + 1);
    StringBuilder out = new StringBuilder(length);
    for (int i = 0; i < length; i++) {
      out.append(alphabet.charAt(random.nextInt(alphabet.length())));
    }
    return out.toString();
  }

  /** The definition of glob matching, transcribed directly: exponential, but obviously right. */
  private static boolean referenceMatches(
      String pattern, int p, String text, int t, boolean ignoreCase) {
    if (p == pattern.length()) {
      return t == text.length();
    }
    char pc = pattern.charAt(p);
    if (pc == '*') {
      for (int skip = t; skip <= text.length(); skip++) {
        if (referenceMatches(pattern, p + 1, text, skip, ignoreCase)) {
          return true;
        }
      }
      return false;
    }
    if (t == text.length()) {
      return false;
    }
    char tc = text.charAt(t);
    boolean same = pc == '?' || pc == tc
        || (ignoreCase && Character.toLowerCase(pc) == Character.toLowerCase(tc));
    return same && referenceMatches(pattern, p + 1, text, t + 1, ignoreCase);
  }
}
