package org.apsara.tenant.api;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.apsara.security.grpc.AuthorizationDecision;
import org.apsara.security.grpc.Authorizer;
import org.apsara.security.policy.CrossTenantPolicies;
import org.apsara.security.policy.Decision;
import org.apsara.security.policy.DecisionCache;
import org.apsara.security.policy.EvaluationRequest;
import org.apsara.security.policy.Policy;
import org.apsara.security.sign.Principal;

/**
 * Decides who may do what, the way RAM does; the same rules in the identity service and in every
 * service that authorizes its own calls.
 *
 * <ol>
 *   <li>The root user of the {@link IdentityNames#SYSTEM_TENANT system} tenant may do anything.
 *   <li>A resource must be a resource name ({@link ResourceName}) in no region, in every region
 *       ({@code *}) or in this cluster's region; anything else is denied.
 *   <li>A tenant's root user may do anything inside its own tenant.
 *   <li>Everybody else, and root users outside their tenant, may do what the RAM policies attached
 *       to them and their groups allow and none denies (evaluated through the {@link
 *       DecisionCache}). For a resource of another tenant only statements that name that tenant
 *       literally can allow (see {@link CrossTenantPolicies}): a user is never allowed into another
 *       tenant by a wildcard.
 * </ol>
 *
 * <p>Each decision's reason names what decided it: the root rule, or the policy and statement. It
 * reaches the caller and the audit log through {@link org.apsara.security.grpc.Authorization}.
 *
 * <p>Thread-safe and non-blocking as long as the {@link PrincipalPolicies} is.
 */
public final class TenantAuthorizer implements Authorizer {
  /**
   * The policies that apply to a principal: its own and its groups', in a stable order (the order
   * decides which statement a decision names). Implementations must be thread-safe, answer from
   * memory, and return an empty list for a principal they do not know.
   */
  public interface PrincipalPolicies {
    /** The policies as they apply to resources of the principal's own tenant. */
    List<Policy> ownTenantPolicies(Principal principal);

    /** The same policies, restricted by {@link CrossTenantPolicies#restrict}, in the same order. */
    List<Policy> crossTenantPolicies(Principal principal);
  }

  private final PrincipalPolicies policies;
  private final DecisionCache decisions;
  private final String region;

  /**
   * @param policies the policies of each principal
   * @param decisions the cache of decisions; whoever changes what {@code policies} answers must
   *     invalidate it as {@link DecisionCache} says (decisions are cached by the user's ARN)
   * @param region this cluster's region name, as it appears in resource names
   */
  public TenantAuthorizer(PrincipalPolicies policies, DecisionCache decisions, String region) {
    this.policies = Objects.requireNonNull(policies, "policies");
    this.decisions = Objects.requireNonNull(decisions, "decisions");
    this.region = Objects.requireNonNull(region, "region");
  }

  /** Whether {@code principal} is its tenant's root user. */
  public static boolean isRoot(Principal principal) {
    return principal.userName().equals(IdentityNames.ROOT_USER);
  }

  @Override
  public AuthorizationDecision authorize(
      Principal principal, String action, String resource, Map<String, String> requestContext) {
    boolean root = isRoot(principal);
    if (root && principal.tenantId().equals(IdentityNames.SYSTEM_TENANT)) {
      return AuthorizationDecision.allow("the root user of the " + IdentityNames.SYSTEM_TENANT
          + " tenant may do anything");
    }
    ResourceName name;
    try {
      name = ResourceName.parse(resource);
    } catch (IllegalArgumentException e) {
      return AuthorizationDecision.deny(e.getMessage());
    }
    if (!name.region().isEmpty() && !name.region().equals("*") && !name.region().equals(region)) {
      return AuthorizationDecision.deny("the resource is in region " + name.region()
          + ", and this cluster serves region " + region);
    }
    boolean ownTenant = name.tenant().equals(principal.tenantId());
    if (ownTenant && root) {
      return AuthorizationDecision.allow("the root user of tenant " + principal.tenantId()
          + " may do anything in it");
    }
    if (!ownTenant && !IdentityNames.isTenantName(name.tenant())) {
      return AuthorizationDecision.deny("the resource's tenant \"" + name.tenant()
          + "\" is not a tenant name");
    }
    // The cache asks its source by the principal's ARN; the source answers for this principal,
    // whose ARN that is.
    Decision decision = decisions.decide(
        new EvaluationRequest(principal.arn(), action, resource, requestContext),
        ownTenant
            ? arn -> policies.ownTenantPolicies(principal)
            : arn -> policies.crossTenantPolicies(principal));
    return switch (decision.outcome()) {
      case ALLOW -> AuthorizationDecision.allow("allowed by policy \"" + decision.policyName()
          + "\" Statement[" + decision.statementIndex() + "]");
      case EXPLICIT_DENY -> AuthorizationDecision.deny("explicitly denied by policy \""
          + decision.policyName() + "\" Statement[" + decision.statementIndex() + "]");
      case IMPLICIT_DENY -> AuthorizationDecision.deny(ownTenant
          ? "no policy allows it"
          : "the resource belongs to tenant " + name.tenant()
              + ", and no policy statement naming that tenant allows it");
    };
  }
}
