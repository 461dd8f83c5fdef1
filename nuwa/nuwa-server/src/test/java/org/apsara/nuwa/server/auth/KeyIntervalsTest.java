package org.apsara.nuwa.server.auth;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Which request ranges a set of permissions covers, in etcd's range notation: "" as end is one
 * key, "\0" is every key from the start on, anything else an exclusive end.
 */
class KeyIntervalsTest {
  private static final String FROM_KEY = "\0";

  /** A permission or request range: key and range end. */
  private static String[] r(String key, String end) {
    return new String[] {key, end};
  }

  private static String[][] perms(String[]... ranges) {
    return ranges;
  }

  private static KeyIntervals of(String[][] permissions) {
    List<KeyIntervals.Interval> intervals = new ArrayList<>();
    for (String[] permission : permissions) {
      intervals.add(KeyIntervals.Interval.of(bs(permission[0]), bs(permission[1])));
    }
    return KeyIntervals.union(intervals);
  }

  static Stream<Arguments> cases() {
    return Stream.of(
        // A single key permits that key only.
        Arguments.of(perms(r("a", "")), r("a", ""), true),
        Arguments.of(perms(r("a", "")), r("b", ""), false),
        Arguments.of(perms(r("a", "")), r("a\0", ""), false),
        Arguments.of(perms(r("a", "")), r("a", "b"), false),
        // A single key is the range [a, a\0): asking for exactly that range is covered.
        Arguments.of(perms(r("a", "")), r("a", "a\0"), true),
        // A prefix, as etcdctl's --prefix grants it: [/t1/, /t10).
        Arguments.of(perms(r("/t1/", "/t10")), r("/t1/x", ""), true),
        Arguments.of(perms(r("/t1/", "/t10")), r("/t1/", "/t10"), true),
        Arguments.of(perms(r("/t1/", "/t10")), r("/t1/a/", "/t1/a0"), true),
        Arguments.of(perms(r("/t1/", "/t10")), r("/t2/x", ""), false),
        Arguments.of(perms(r("/t1/", "/t10")), r("/t1", ""), false),
        Arguments.of(perms(r("/t1/", "/t10")), r("/t1/", "/t2"), false),
        Arguments.of(perms(r("/t1/", "/t10")), r("/t1/", FROM_KEY), false),
        Arguments.of(perms(r("/t1/", "/t10")), r("/", "/0"), false),
        // Open-ended: every key from the start on.
        Arguments.of(perms(r("m", FROM_KEY)), r("m", ""), true),
        Arguments.of(perms(r("m", FROM_KEY)), r("zzz", ""), true),
        Arguments.of(perms(r("m", FROM_KEY)), r("\u00ff\u00ff", ""), true),
        Arguments.of(perms(r("m", FROM_KEY)), r("m", FROM_KEY), true),
        Arguments.of(perms(r("m", FROM_KEY)), r("n", FROM_KEY), true),
        Arguments.of(perms(r("m", FROM_KEY)), r("l", FROM_KEY), false),
        Arguments.of(perms(r("m", FROM_KEY)), r("l", ""), false),
        Arguments.of(perms(r("m", "z")), r("m", FROM_KEY), false),
        // Everything: key "\0" from key (etcdctl's "--from-key ''" grants this).
        Arguments.of(perms(r("\0", FROM_KEY)), r("\0", FROM_KEY), true),
        Arguments.of(perms(r("\0", FROM_KEY)), r("any", ""), true),
        // The union of adjacent or overlapping permissions covers what none covers alone.
        Arguments.of(perms(r("a", "c"), r("c", "e")), r("b", "d"), true),
        Arguments.of(perms(r("a", "c"), r("b", "e")), r("a", "e"), true),
        Arguments.of(perms(r("c", "e"), r("a", "c")), r("a", "e"), true),
        Arguments.of(perms(r("a", "c"), r("c", FROM_KEY)), r("a", FROM_KEY), true),
        // ... but not across a gap, however small: [a, c) and [c\0, e) miss the key "c".
        Arguments.of(perms(r("a", "c"), r("c\0", "e")), r("b", "d"), false),
        Arguments.of(perms(r("a", "c"), r("c\0", "e")), r("c", ""), false),
        // A single key fills the gap: [a, c), [c, c\0), [c\0, e).
        Arguments.of(perms(r("a", "c"), r("c", ""), r("c\0", "e")), r("b", "d"), true),
        // Nested permissions.
        Arguments.of(perms(r("a", "z"), r("b", "c")), r("a", "y"), true),
        // Keys compare as unsigned bytes: \u00ff sorts after every ASCII byte.
        Arguments.of(perms(r("a", "\u00ff")), r("zzz", ""), true),
        Arguments.of(perms(r("a", "\u00ff")), r("\u00ff", ""), false),
        // Empty and inverted request ranges are refused, as etcd refuses them.
        Arguments.of(perms(r("a", FROM_KEY)), r("c", "b"), false),
        Arguments.of(perms(r("a", FROM_KEY)), r("c", "c"), false),
        // No permission at all.
        Arguments.of(perms(), r("a", ""), false),
        Arguments.of(perms(), r("a", FROM_KEY), false));
  }

  @ParameterizedTest(name = "[{index}] {0} covers {1}: {2}")
  @MethodSource("cases")
  void coversWhatTheUnionOfPermissionsCovers(String[][] permissions, String[] request,
      boolean covered) {
    assertThat(of(permissions).covers(bs(request[0]), bs(request[1]))).isEqualTo(covered);
  }

  @Test
  void touchingAndOverlappingPermissionsMergeIntoOneInterval() {
    assertThat(of(perms(r("a", "c"), r("c", "e"), r("d", "f"), r("x", ""))).size()).isEqualTo(2);
    assertThat(of(perms(r("a", FROM_KEY), r("b", "c"), r("z", FROM_KEY))).size()).isEqualTo(1);
    assertThat(of(perms(r("b", "a"))).size()).isZero();
  }

  /** Each char below 256 as one byte, so that tests can write any byte, "\u00ff" included. */
  private static ByteString bs(String text) {
    byte[] bytes = new byte[text.length()];
    for (int i = 0; i < bytes.length; i++) {
      bytes[i] = (byte) text.charAt(i);
    }
    return ByteString.copyFrom(bytes);
  }
}
