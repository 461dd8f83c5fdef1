package org.apsara.pangu.master.namespace;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A validated absolute path: "/" or "/a/b/c" with no empty, "." or ".." components, no NUL, each
 * component at most {@link NamespaceLimits#MAX_COMPONENT_BYTES} UTF-8 bytes, the whole path at
 * most {@link NamespaceLimits#MAX_PATH_BYTES} bytes and {@link NamespaceLimits#MAX_PATH_DEPTH}
 * components, and valid UTF-16 (no unpaired surrogate, which would not survive the trip to
 * UTF-8 names). Immutable.
 */
public final class NamespacePath {
  /** The root directory. */
  public static final NamespacePath ROOT = new NamespacePath("/", List.of());

  private final String text;
  private final List<String> components;

  private NamespacePath(String text, List<String> components) {
    this.text = text;
    this.components = components;
  }

  /** Parses and validates {@code path}; throws {@link NamespaceErrorCode#INVALID_PATH}. */
  public static NamespacePath parse(String path) throws NamespaceException {
    if (path == null || path.isEmpty()) {
      throw invalid("", "a path is required");
    }
    String shown = abbreviate(path);
    if (path.charAt(0) != '/') {
      throw invalid(shown, "path " + shown + " is not absolute");
    }
    if (path.equals("/")) {
      return ROOT;
    }
    for (int i = 0; i < path.length(); i++) {
      char c = path.charAt(i);
      if (c == 0) {
        throw invalid(shown, "path " + shown + " contains NUL");
      }
      if (Character.isHighSurrogate(c)) {
        if (i + 1 >= path.length() || !Character.isLowSurrogate(path.charAt(i + 1))) {
          throw invalid(shown, "path " + shown + " is not valid Unicode (unpaired surrogate)");
        }
        i++;
      } else if (Character.isLowSurrogate(c)) {
        throw invalid(shown, "path " + shown + " is not valid Unicode (unpaired surrogate)");
      }
    }
    int pathBytes = path.getBytes(StandardCharsets.UTF_8).length;
    if (pathBytes > NamespaceLimits.MAX_PATH_BYTES) {
      throw invalid(shown, "path " + shown + " is " + pathBytes + " bytes, more than the limit of "
          + NamespaceLimits.MAX_PATH_BYTES);
    }
    List<String> parts = new ArrayList<>();
    int start = 1;
    while (true) {
      int slash = path.indexOf('/', start);
      String component = slash < 0 ? path.substring(start) : path.substring(start, slash);
      checkComponent(shown, component);
      parts.add(component);
      if (parts.size() > NamespaceLimits.MAX_PATH_DEPTH) {
        throw invalid(shown, "path " + shown + " has more than "
            + NamespaceLimits.MAX_PATH_DEPTH + " components");
      }
      if (slash < 0) {
        break;
      }
      start = slash + 1;
    }
    return new NamespacePath(path, Collections.unmodifiableList(parts));
  }

  /** Validates one name as it would appear in a path (used for listing cursors too). */
  static void checkComponent(String shownPath, String component) throws NamespaceException {
    if (component.isEmpty()) {
      throw invalid(shownPath, "path " + shownPath + " has an empty component");
    }
    if (component.indexOf('/') >= 0 || component.indexOf('\0') >= 0) {
      throw invalid(shownPath, "name " + component + " contains '/' or NUL");
    }
    if (component.equals(".") || component.equals("..")) {
      throw invalid(shownPath, "path " + shownPath + " has a '" + component + "' component");
    }
    int bytes = component.getBytes(StandardCharsets.UTF_8).length;
    if (bytes > NamespaceLimits.MAX_COMPONENT_BYTES) {
      throw invalid(shownPath, "path " + shownPath + " has a component of " + bytes
          + " bytes, more than the limit of " + NamespaceLimits.MAX_COMPONENT_BYTES);
    }
  }

  private static NamespaceException invalid(String path, String message) {
    return new NamespaceException(NamespaceErrorCode.INVALID_PATH, path, message);
  }

  /** Keeps error messages bounded when a client sends a huge path. */
  private static String abbreviate(String path) {
    int max = 512;
    return path.length() <= max
        ? path
        : path.substring(0, max) + "...(" + path.length() + " chars)";
  }

  public boolean isRoot() {
    return components.isEmpty();
  }

  /** Number of components; 0 for the root. */
  public int depth() {
    return components.size();
  }

  public String component(int index) {
    return components.get(index);
  }

  public List<String> components() {
    return components;
  }

  /** The last component; empty for the root. */
  public String name() {
    return components.isEmpty() ? "" : components.get(components.size() - 1);
  }

  /** The path of the first {@code depth} components ("/" for 0). */
  public String prefix(int depth) {
    if (depth == 0) {
      return "/";
    }
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < depth; i++) {
      sb.append('/').append(components.get(i));
    }
    return sb.toString();
  }

  /** True if {@code other} lies strictly below this path. */
  public boolean isStrictAncestorOf(NamespacePath other) {
    if (other.components.size() <= components.size()) {
      return false;
    }
    return other.components.subList(0, components.size()).equals(components);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof NamespacePath p && p.text.equals(text);
  }

  @Override
  public int hashCode() {
    return text.hashCode();
  }

  @Override
  public String toString() {
    return text;
  }
}
