package org.apsara.fuxi.master.server;

import io.grpc.Context;
import java.time.Clock;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.function.Predicate;
import org.apsara.fuxi.api.FuxiPermissions;
import org.apsara.security.grpc.Authorization;
import org.apsara.security.grpc.Authorization.Access;
import org.apsara.security.grpc.Authorizer;
import org.apsara.security.grpc.SecurityContext;
import org.apsara.security.sign.Principal;
import org.apsara.tenant.api.IdentityNames;

/**
 * Who may do what on FuxiMaster's client calls (see {@link FuxiPermissions} for the actions and
 * resources). {@link #open()} lets everybody do everything and takes a submit's tenant on trust, as
 * a master without authentication does; {@link #enforcing} checks every call's authenticated
 * caller.
 *
 * <p>The checks that need no scheduler state ({@link #submitTenant}, {@link #requireOperator},
 * {@link #listFilter}) run on the gRPC thread of the call, where its {@link Context} carries the
 * caller. Get and kill need the application's tenant, known only on the scheduler thread: {@link
 * #applicationCheck} captures the call's context on the gRPC thread and returns a check the
 * scheduler thread runs in it. Every check throws {@code PERMISSION_DENIED} with the message
 * {@link Authorization#require} builds, or {@code UNAUTHENTICATED} for a call without a caller.
 *
 * <p>Thread-safe; checks answer from the authenticator's memory and never block.
 */
final class MasterAccess {
  /** Run on the scheduler thread once an application's tenant is known. */
  @FunctionalInterface
  interface ApplicationCheck {
    ApplicationCheck NONE = (tenant, applicationId) -> { };

    /** Returns if the caller may act on the application; throws as the class says otherwise. */
    void require(String tenant, String applicationId);
  }

  private final boolean enforcing;
  private final Authorization authorization;
  private final Authorizer authorizer;
  private final String region;
  private final Clock clock;

  private MasterAccess(boolean enforcing, Authorization authorization, Authorizer authorizer,
      String region, Clock clock) {
    this.enforcing = enforcing;
    this.authorization = authorization;
    this.authorizer = authorizer;
    this.region = region;
    this.clock = clock;
  }

  /** No authentication: every call is allowed, and a submit's tenant is taken as given. */
  static MasterAccess open() {
    return new MasterAccess(false, null, null, "", Clock.systemUTC());
  }

  /**
   * Checks every call.
   *
   * @param authorization the audited checks ({@code require})
   * @param authorizer the same decisions unaudited, for the tenants {@code ListApplications}
   *     filters by (one answer per tenant listed would flood the audit log with denials)
   * @param region the region resource names carry: the one callers sign for
   */
  static MasterAccess enforcing(Authorization authorization, Authorizer authorizer,
      String region, Clock clock) {
    return new MasterAccess(true, Objects.requireNonNull(authorization, "authorization"),
        Objects.requireNonNull(authorizer, "authorizer"), Objects.requireNonNull(region, "region"),
        Objects.requireNonNull(clock, "clock"));
  }

  boolean isEnforcing() {
    return enforcing;
  }

  /**
   * The tenant an application submitted with {@code requested} belongs to, after checking that
   * the caller may submit there: {@code requested} if given, else the caller's own tenant. Another
   * tenant than the caller's is allowed only by a policy statement naming it (the cross-tenant
   * rule of the policy evaluation). Without enforcement, {@code requested} as it is.
   */
  String submitTenant(String requested) {
    if (!enforcing) {
      return requested;
    }
    String tenant = requested.isEmpty() ? caller().tenantId() : requested;
    if (!IdentityNames.isTenantName(tenant)) {
      throw FuxiErrors.invalid("tenant \"" + tenant + "\" is not a tenant name");
    }
    authorization.require(FuxiPermissions.SUBMIT_APPLICATION,
        FuxiPermissions.applications(region, tenant), Access.MUTATE);
    return tenant;
  }

  /**
   * The check of {@code action} ({@link FuxiPermissions#GET_APPLICATION} or {@link
   * FuxiPermissions#KILL_APPLICATION}) on one application, for the scheduler thread. Call on the
   * gRPC thread of the call.
   */
  ApplicationCheck applicationCheck(String action, Access access) {
    if (!enforcing) {
      return ApplicationCheck.NONE;
    }
    Context call = Context.current();
    return (tenant, applicationId) -> {
      Context previous = call.attach();
      try {
        authorization.require(
            action, FuxiPermissions.application(region, tenant, applicationId), access);
      } finally {
        call.detach(previous);
      }
    };
  }

  /**
   * Checks that the caller may list its own tenant's applications and returns which tenants'
   * applications it sees: its own, those of every other tenant whose {@code application/*} a
   * policy naming that tenant allows it to list, and all (those without a tenant included) for the
   * system tenant's root. Without enforcement, every tenant. Call on the gRPC thread of the call;
   * the filter may be used on any one thread (it remembers its answers).
   */
  Predicate<String> listFilter() {
    if (!enforcing) {
      return tenant -> true;
    }
    Principal caller = caller();
    authorization.require(FuxiPermissions.LIST_APPLICATIONS,
        FuxiPermissions.applications(region, caller.tenantId()), Access.READ);
    Map<String, String> context =
        Authorization.requestContext(SecurityContext.currentOrigin(), Instant.now(clock));
    Map<String, Boolean> answers = new HashMap<>();
    answers.put(caller.tenantId(), true);
    return tenant -> answers.computeIfAbsent(tenant, t -> authorizer.authorize(caller,
        FuxiPermissions.LIST_APPLICATIONS, FuxiPermissions.applications(region, t), context)
        .allowed());
  }

  /** Checks an operators' action on the cluster's machines or quota groups. */
  void requireOperator(String action, String resource, Access access) {
    if (enforcing) {
      authorization.require(action, resource, access);
    }
  }

  /** Resource names of this master's region. */
  String region() {
    return region;
  }

  private static Principal caller() {
    return SecurityContext.currentPrincipal().orElseThrow(() -> io.grpc.Status.UNAUTHENTICATED
        .withDescription("the call is not authenticated").asRuntimeException());
  }
}
