package org.apsara.security.policy;

import java.util.Objects;

/**
 * The result of evaluating a request, with the statement that decided it for the audit log.
 * Immutable and thread-safe.
 *
 * @param outcome whether the request is allowed, and if not, why
 * @param policyName the policy holding the deciding statement; {@code null} for {@link
 *     Outcome#IMPLICIT_DENY}, which no statement decided
 * @param statementIndex the deciding statement's index in that policy's {@link
 *     PolicyDocument#statements()}; {@code -1} for {@link Outcome#IMPLICIT_DENY}
 */
public record Decision(Outcome outcome, String policyName, int statementIndex) {
  /** The three possible results of an evaluation. */
  public enum Outcome {
    /** An {@code Allow} statement matched and no {@code Deny} statement did. */
    ALLOW,
    /** A {@code Deny} statement matched; this overrides any {@code Allow}. */
    EXPLICIT_DENY,
    /** No statement matched: what is not allowed is denied. */
    IMPLICIT_DENY
  }

  /** The decision when no statement matched. */
  public static final Decision IMPLICIT_DENY = new Decision(Outcome.IMPLICIT_DENY, null, -1);

  public Decision {
    Objects.requireNonNull(outcome, "outcome");
    boolean decidedByStatement = outcome != Outcome.IMPLICIT_DENY;
    if (decidedByStatement != (policyName != null) || decidedByStatement != (statementIndex >= 0)) {
      throw new IllegalArgumentException(
          "an " + outcome + " decision must " + (decidedByStatement ? "" : "not ")
              + "name a policy and a statement index >= 0");
    }
  }

  static Decision allow(String policyName, int statementIndex) {
    return new Decision(Outcome.ALLOW, policyName, statementIndex);
  }

  static Decision explicitDeny(String policyName, int statementIndex) {
    return new Decision(Outcome.EXPLICIT_DENY, policyName, statementIndex);
  }

  /** Whether the request may proceed. */
  public boolean allowed() {
    return outcome == Outcome.ALLOW;
  }

  /** E.g. {@code EXPLICIT_DENY by policy "NoDelete" Statement[0]} or {@code IMPLICIT_DENY}. */
  @Override
  public String toString() {
    return outcome == Outcome.IMPLICIT_DENY
        ? outcome.name()
        : outcome + " by policy \"" + policyName + "\" Statement[" + statementIndex + "]";
  }
}
