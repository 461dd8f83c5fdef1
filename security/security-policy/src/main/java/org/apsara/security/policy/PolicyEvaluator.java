package org.apsara.security.policy;

import java.util.List;
import java.util.Objects;

/**
 * Decides whether a request is allowed by the policies attached to its principal.
 *
 * <p>The rules, as in RAM: a statement matches a request if the request's action matches one of
 * its actions, its resource one of its resources, and all of its conditions hold (see {@link
 * Condition} for the treatment of missing context keys). If any matching statement is a {@code
 * Deny}, the request is {@linkplain Decision.Outcome#EXPLICIT_DENY explicitly denied}, whatever
 * allows it. Otherwise, if any matching statement is an {@code Allow}, it is {@linkplain
 * Decision.Outcome#ALLOW allowed}. Otherwise it is {@linkplain Decision.Outcome#IMPLICIT_DENY
 * implicitly denied}. The principal itself takes no part: the caller passes the policies that
 * apply to it (its own and its groups').
 *
 * <p>The deciding statement reported is the first matching {@code Deny}, or failing that the first
 * matching {@code Allow}, in the order of the policies and then of their statements.
 *
 * <p>Pure: no I/O, no clock (the time comes from {@link ConditionKeys#CURRENT_TIME} in the
 * request context), no state. Thread-safe.
 */
public final class PolicyEvaluator {
  /** The decision, and whether reaching it evaluated any condition (read the request context). */
  record Evaluation(Decision decision, boolean readContext) {}

  public PolicyEvaluator() {}

  /** Evaluates {@code request} against {@code policies}; an empty list denies implicitly. */
  public Decision evaluate(EvaluationRequest request, List<Policy> policies) {
    return evaluateTracked(request, policies).decision();
  }

  /**
   * Evaluates like {@link #evaluate} and also says whether any condition was evaluated. If none
   * was, the decision depends only on the policies, the action and the resource, and may be
   * reused for other requests with the same three.
   */
  Evaluation evaluateTracked(EvaluationRequest request, List<Policy> policies) {
    Objects.requireNonNull(request, "request");
    Objects.requireNonNull(policies, "policies");
    Decision firstAllow = null;
    boolean readContext = false;
    for (Policy policy : policies) {
      List<Statement> statements = policy.document().statements();
      for (int i = 0; i < statements.size(); i++) {
        Statement statement = statements.get(i);
        if (!statement.matchesAction(request.action())
            || !statement.matchesResource(request.resource())) {
          continue;
        }
        if (!statement.conditions().isEmpty()) {
          readContext = true;
          if (!statement.conditionsHold(request.context())) {
            continue;
          }
        }
        if (statement.effect() == Effect.DENY) {
          // Nothing can override an explicit deny, so later statements need not be looked at.
          return new Evaluation(Decision.explicitDeny(policy.name(), i), readContext);
        }
        if (firstAllow == null) {
          firstAllow = Decision.allow(policy.name(), i);
        }
      }
    }
    return new Evaluation(firstAllow != null ? firstAllow : Decision.IMPLICIT_DENY, readContext);
  }
}
