package org.apsara.security.policy;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The form of a policy that applies to requests for another tenant's resources.
 *
 * <p>A user's policies are written for its own tenant, and a pattern such as {@code *} or {@code
 * acs:ram:*:*:user/*} is meant for it: it must not open every other tenant as well. So for a
 * resource of another tenant, an {@code Allow} statement counts only through resource patterns
 * whose tenant field names a tenant literally, without wildcards ({@code acs:ram::other:user/*}).
 * {@code Deny} statements apply unchanged: a deny never needs to be explicit.
 *
 * <p>The restricted policy keeps the name and the statement numbering of the original, so that a
 * decision reached with it names the statement as the author wrote it. An {@code Allow} statement
 * left without patterns gets {@link #NEVER_MATCHING_RESOURCE} instead.
 *
 * <p>Whoever authorizes requests for tenants (the identity service, and every service that checks
 * policies itself) evaluates a request for another tenant's resource against these forms, so
 * that the wall between tenants is the same everywhere. Stateless and thread-safe.
 */
public final class CrossTenantPolicies {
  /**
   * A resource pattern no request matches: its tenant "." is not a tenant name (tenant names have no
   * '.'), and cross-tenant requests are only evaluated for resources of valid tenants.
   */
  public static final String NEVER_MATCHING_RESOURCE = "acs:ram::.:none";

  private static final Logger LOG = LoggerFactory.getLogger(CrossTenantPolicies.class);
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private CrossTenantPolicies() {}

  /**
   * The policy as it applies across tenants, or empty if no statement of it can (no {@code Deny},
   * and no {@code Allow} naming a tenant).
   */
  public static Optional<Policy> restrict(Policy policy) {
    List<Statement> statements = policy.document().statements();
    boolean changed = false;
    boolean anyApplies = false;
    for (Statement statement : statements) {
      List<String> explicit = explicitResources(statement);
      changed |= statement.effect() == Effect.ALLOW && explicit.size() != statement.resources().size();
      anyApplies |= statement.effect() == Effect.DENY || !explicit.isEmpty();
    }
    if (!anyApplies) {
      return Optional.empty();
    }
    if (!changed) {
      return Optional.of(policy);
    }
    try {
      ObjectNode document = (ObjectNode) MAPPER.readTree(policy.document().toJson());
      ArrayNode jsonStatements = (ArrayNode) document.get("Statement");
      for (int i = 0; i < statements.size(); i++) {
        Statement statement = statements.get(i);
        if (statement.effect() != Effect.ALLOW) {
          continue;
        }
        List<String> explicit = new ArrayList<>(explicitResources(statement));
        if (explicit.isEmpty()) {
          explicit.add(NEVER_MATCHING_RESOURCE);
        }
        ArrayNode resources = MAPPER.createArrayNode();
        explicit.forEach(resources::add);
        ((ObjectNode) jsonStatements.get(i)).set("Resource", resources);
      }
      return Optional.of(new Policy(policy.name(),
          PolicyDocument.parse(MAPPER.writeValueAsString(document))));
    } catch (JsonProcessingException | InvalidPolicyException e) {
      // Only possible for a document near the size limit, whose replacement patterns made it
      // longer than a document may be. Failing closed: none of its Allows applies across tenants,
      // its Denies still do (numbered among themselves in the reasons of such decisions).
      LOG.atWarn().addKeyValue("policy", policy.name()).addKeyValue("problem", e.getMessage())
          .log("cannot restrict policy for cross-tenant requests; its Allow statements will not"
              + " apply to other tenants at all");
      return denyOnly(policy);
    }
  }

  /** The resource patterns of a statement whose tenant field is literal, not a wildcard. */
  private static List<String> explicitResources(Statement statement) {
    List<String> explicit = new ArrayList<>();
    for (String pattern : statement.resources()) {
      String[] parts = pattern.split(":", 5);
      if (parts.length == 5 && !parts[3].isEmpty()
          && parts[3].indexOf('*') < 0 && parts[3].indexOf('?') < 0) {
        explicit.add(pattern);
      }
    }
    return explicit;
  }

  private static Optional<Policy> denyOnly(Policy policy) {
    try {
      ObjectNode document = (ObjectNode) MAPPER.readTree(policy.document().toJson());
      ArrayNode kept = MAPPER.createArrayNode();
      for (JsonNode statement : document.get("Statement")) {
        if (Effect.DENY.jsonName().equals(statement.get("Effect").asText())) {
          kept.add(statement);
        }
      }
      if (kept.isEmpty()) {
        return Optional.empty();
      }
      document.set("Statement", kept);
      return Optional.of(new Policy(policy.name(),
          PolicyDocument.parse(MAPPER.writeValueAsString(document))));
    } catch (JsonProcessingException | InvalidPolicyException e) {
      throw new IllegalStateException("a subset of a valid policy's statements is valid", e);
    }
  }
}
