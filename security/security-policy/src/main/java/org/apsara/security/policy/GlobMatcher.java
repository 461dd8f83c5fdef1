package org.apsara.security.policy;

/**
 * Matches text against a glob pattern in which {@code *} stands for any run of characters
 * (including none, and including {@code :} and {@code /}) and {@code ?} for exactly one character.
 * There is no escape: a literal {@code *} or {@code ?} in the text is matched by a wildcard.
 *
 * <p>The pattern must match the whole text. Characters are Unicode code points, so {@code ?}
 * matches one character outside the Basic Multilingual Plane too.
 *
 * <p>The matcher never backtracks more than one step: on a mismatch it only resumes after the most
 * recent {@code *}, which is enough because an earlier star can absorb anything a later one could.
 * Time is therefore at most proportional to {@code pattern.length() * text.length()} (usually
 * linear), never exponential as a backtracking regular expression can be, and no memory is
 * allocated. Stateless and thread-safe.
 */
final class GlobMatcher {
  private GlobMatcher() {}

  static boolean matches(String pattern, String text, boolean ignoreCase) {
    int p = 0;
    int t = 0;
    // Where the last star was seen in the pattern, and where in the text it stopped absorbing.
    int starPattern = -1;
    int starText = -1;
    while (t < text.length()) {
      if (p < pattern.length()) {
        int pc = pattern.codePointAt(p);
        if (pc == '*') {
          starPattern = p;
          starText = t;
          p++;
          continue;
        }
        int tc = text.codePointAt(t);
        if (pc == '?' || sameCharacter(pc, tc, ignoreCase)) {
          p += Character.charCount(pc);
          t += Character.charCount(tc);
          continue;
        }
      }
      if (starPattern < 0) {
        return false;
      }
      // Let the last star absorb one more character of the text and retry what follows it.
      starText += Character.charCount(text.codePointAt(starText));
      t = starText;
      p = starPattern + 1;
    }
    while (p < pattern.length() && pattern.charAt(p) == '*') {
      p++;
    }
    return p == pattern.length();
  }

  private static boolean sameCharacter(int a, int b, boolean ignoreCase) {
    if (a == b) {
      return true;
    }
    if (!ignoreCase) {
      return false;
    }
    // The same folding as String.equalsIgnoreCase, which compares both upper and lower case.
    int upperA = Character.toUpperCase(a);
    int upperB = Character.toUpperCase(b);
    return upperA == upperB || Character.toLowerCase(upperA) == Character.toLowerCase(upperB);
  }
}
