package org.apsara.security.policy;

import java.util.Objects;

/**
 * A named policy: the unit that is attached to users and groups, and that a {@link Decision}
 * names when it explains itself. Immutable and thread-safe.
 *
 * @param name non-blank, at most {@link PolicyLimits#MAX_POLICY_NAME_CHARS} characters; a
 *     decision names its policy by it
 * @param document the parsed document
 */
public record Policy(String name, PolicyDocument document) {
  public Policy {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(document, "document");
    if (name.isBlank() || name.length() > PolicyLimits.MAX_POLICY_NAME_CHARS) {
      throw new IllegalArgumentException("a policy name must be non-blank and at most "
          + PolicyLimits.MAX_POLICY_NAME_CHARS + " characters, got \"" + name + "\"");
    }
  }
}
