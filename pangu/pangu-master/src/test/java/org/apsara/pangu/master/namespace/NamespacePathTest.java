package org.apsara.pangu.master.namespace;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class NamespacePathTest {

  @Test
  void parsesRootAndNestedPaths() throws Exception {
    assertThat(NamespacePath.parse("/").isRoot()).isTrue();
    NamespacePath path = NamespacePath.parse("/a/b c/\u00e9");
    assertThat(path.components()).containsExactly("a", "b c", "\u00e9");
    assertThat(path.name()).isEqualTo("\u00e9");
    assertThat(path.prefix(0)).isEqualTo("/");
    assertThat(path.prefix(2)).isEqualTo("/a/b c");
    assertThat(NamespacePath.parse("/a").isStrictAncestorOf(path)).isTrue();
    assertThat(path.isStrictAncestorOf(path)).isFalse();
    assertThat(NamespacePath.parse("/a/b").isStrictAncestorOf(path)).isFalse();
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "a/b", "//", "/a//b", "/a/", "/./a", "/a/..", "/a/\u0000b",
      "/\ud800", "/x\udc00y"})
  void refusesMalformedPaths(String path) {
    assertThatThrownBy(() -> NamespacePath.parse(path))
        .satisfies(TestNamespace.refusedWith(NamespaceErrorCode.INVALID_PATH));
  }

  @Test
  void enforcesTheLengthAndDepthLimits() throws Exception {
    String longest = "x".repeat(NamespaceLimits.MAX_COMPONENT_BYTES);
    assertThat(NamespacePath.parse("/" + longest).name()).isEqualTo(longest);
    assertThatThrownBy(() -> NamespacePath.parse("/" + longest + "x"))
        .hasMessageContaining("256 bytes");
    // Multi-byte characters count in bytes: 128 two-byte characters are 256 bytes.
    assertThatThrownBy(() -> NamespacePath.parse("/" + "\u00e9".repeat(128)))
        .hasMessageContaining("256 bytes");

    String deepest = "/a".repeat(NamespaceLimits.MAX_PATH_DEPTH);
    assertThat(NamespacePath.parse(deepest).depth()).isEqualTo(NamespaceLimits.MAX_PATH_DEPTH);
    assertThatThrownBy(() -> NamespacePath.parse(deepest + "/a"))
        .hasMessageContaining("more than " + NamespaceLimits.MAX_PATH_DEPTH + " components");

    String tooLong = ("/" + "y".repeat(200)).repeat(21);
    assertThatThrownBy(() -> NamespacePath.parse(tooLong))
        .isInstanceOfSatisfying(NamespaceException.class, e -> {
          assertThat(e.code()).isEqualTo(NamespaceErrorCode.INVALID_PATH);
          assertThat(e.getMessage()).contains("limit of " + NamespaceLimits.MAX_PATH_BYTES);
        });
  }
}
