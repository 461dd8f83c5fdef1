package org.apsara.security.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class CrossTenantPoliciesTest {
  private static Policy policy(String statements) throws Exception {
    return new Policy("P", PolicyDocument.parse(
        "{\"Version\": \"1\", \"Statement\": [" + statements + "]}"));
  }

  @Test
  void allowsKeepOnlyPatternsNamingATenantAndKeepTheirNumbering() throws Exception {
    Policy original = policy(
        "{\"Effect\": \"Allow\", \"Action\": \"*\", \"Resource\": \"*\"},"
            + "{\"Effect\": \"Allow\", \"Action\": \"ram:GetUser\","
            + " \"Resource\": [\"acs:ram::*:user/*\", \"acs:ram::beta:user/*\"]},"
            + "{\"Effect\": \"Deny\", \"Action\": \"ram:*\", \"Resource\": \"*\","
            + " \"Condition\": {\"Bool\": {\"acs:SecureTransport\": \"false\"}}}");

    Policy restricted = CrossTenantPolicies.restrict(original).orElseThrow();

    List<Statement> statements = restricted.document().statements();
    assertThat(restricted.name()).isEqualTo("P");
    assertThat(statements).hasSize(3);
    assertThat(statements.get(0).resources())
        .containsExactly(CrossTenantPolicies.NEVER_MATCHING_RESOURCE);
    assertThat(statements.get(1).resources()).containsExactly("acs:ram::beta:user/*");
    assertThat(statements.get(2)).isEqualTo(original.document().statements().get(2));
  }

  @Test
  void theRestrictedPolicyAllowsOnlyTheNamedTenant() throws Exception {
    Policy restricted = CrossTenantPolicies.restrict(policy(
        "{\"Effect\": \"Allow\", \"Action\": \"*\", \"Resource\": \"*\"},"
            + "{\"Effect\": \"Allow\", \"Action\": \"ram:GetUser\","
            + " \"Resource\": \"acs:ram::beta:user/*\"}")).orElseThrow();
    PolicyEvaluator evaluator = new PolicyEvaluator();

    Decision beta = evaluator.evaluate(new EvaluationRequest("acs:ram::alpha:user/a",
        "ram:GetUser", "acs:ram::beta:user/x"), List.of(restricted));
    Decision gamma = evaluator.evaluate(new EvaluationRequest("acs:ram::alpha:user/a",
        "ram:GetUser", "acs:ram::gamma:user/x"), List.of(restricted));

    assertThat(beta).isEqualTo(new Decision(Decision.Outcome.ALLOW, "P", 1));
    assertThat(gamma.outcome()).isEqualTo(Decision.Outcome.IMPLICIT_DENY);
  }

  @Test
  void aPolicyWithNothingForOtherTenantsIsLeftOut() throws Exception {
    Optional<Policy> restricted = CrossTenantPolicies.restrict(policy(
        "{\"Effect\": \"Allow\", \"Action\": \"*\", \"Resource\": \"acs:*:*:*:*\"}"));

    assertThat(restricted).isEmpty();
  }

  @Test
  void aPolicyThatOnlyNamesTenantsIsUsedAsItIs() throws Exception {
    Policy original = policy(
        "{\"Effect\": \"Allow\", \"Action\": \"*\", \"Resource\": \"acs:ram::beta:*\"}");

    assertThat(CrossTenantPolicies.restrict(original)).containsSame(original);
  }
}
