package org.apsara.tenant.server;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;
import org.apsara.security.grpc.Authorization;
import org.apsara.security.grpc.Authorization.Access;
import org.apsara.security.grpc.Authorizer;
import org.apsara.security.grpc.SecurityContext;
import org.apsara.security.policy.Policy;
import org.apsara.security.sign.CredentialScope;
import org.apsara.security.sign.Principal;
import org.apsara.security.sign.ScopedSignature;
import org.apsara.security.sign.ServiceScope;
import org.apsara.security.sign.SignatureV3;
import org.apsara.tenant.api.CreatedAccessKey;
import org.apsara.tenant.api.IdentityNames;
import org.apsara.tenant.api.ResourceName;
import org.apsara.tenant.api.TenantAuthorizer;
import org.apsara.tenant.api.v1.AccessKeyStatus;
import org.apsara.tenant.api.v1.AddUserToGroupRequest;
import org.apsara.tenant.api.v1.AddUserToGroupResponse;
import org.apsara.tenant.api.v1.AttachPolicyToGroupRequest;
import org.apsara.tenant.api.v1.AttachPolicyToGroupResponse;
import org.apsara.tenant.api.v1.AttachPolicyToUserRequest;
import org.apsara.tenant.api.v1.AttachPolicyToUserResponse;
import org.apsara.tenant.api.v1.CreateAccessKeyRequest;
import org.apsara.tenant.api.v1.CreateAccessKeyResponse;
import org.apsara.tenant.api.v1.CreateGroupRequest;
import org.apsara.tenant.api.v1.CreateGroupResponse;
import org.apsara.tenant.api.v1.CreatePolicyRequest;
import org.apsara.tenant.api.v1.CreatePolicyResponse;
import org.apsara.tenant.api.v1.CreateTenantRequest;
import org.apsara.tenant.api.v1.CreateTenantResponse;
import org.apsara.tenant.api.v1.CreateUserRequest;
import org.apsara.tenant.api.v1.CreateUserResponse;
import org.apsara.tenant.api.v1.DeleteAccessKeyRequest;
import org.apsara.tenant.api.v1.DeleteAccessKeyResponse;
import org.apsara.tenant.api.v1.DeleteGroupRequest;
import org.apsara.tenant.api.v1.DeleteGroupResponse;
import org.apsara.tenant.api.v1.DeletePolicyRequest;
import org.apsara.tenant.api.v1.DeletePolicyResponse;
import org.apsara.tenant.api.v1.DeleteTenantRequest;
import org.apsara.tenant.api.v1.DeleteTenantResponse;
import org.apsara.tenant.api.v1.DeleteUserRequest;
import org.apsara.tenant.api.v1.DeleteUserResponse;
import org.apsara.tenant.api.v1.DetachPolicyFromGroupRequest;
import org.apsara.tenant.api.v1.DetachPolicyFromGroupResponse;
import org.apsara.tenant.api.v1.DetachPolicyFromUserRequest;
import org.apsara.tenant.api.v1.DetachPolicyFromUserResponse;
import org.apsara.tenant.api.v1.EffectivePolicy;
import org.apsara.tenant.api.v1.GetCallerIdentityRequest;
import org.apsara.tenant.api.v1.GetCallerIdentityResponse;
import org.apsara.tenant.api.v1.GetPolicyRequest;
import org.apsara.tenant.api.v1.GetPolicyResponse;
import org.apsara.tenant.api.v1.GetServiceCredentialRequest;
import org.apsara.tenant.api.v1.GetServiceCredentialResponse;
import org.apsara.tenant.api.v1.GetTenantRequest;
import org.apsara.tenant.api.v1.GetTenantResponse;
import org.apsara.tenant.api.v1.GetUserRequest;
import org.apsara.tenant.api.v1.GetUserResponse;
import org.apsara.tenant.api.v1.IdentityServiceGrpc;
import org.apsara.tenant.api.v1.ListAccessKeysRequest;
import org.apsara.tenant.api.v1.ListAccessKeysResponse;
import org.apsara.tenant.api.v1.ListGroupsRequest;
import org.apsara.tenant.api.v1.ListGroupsResponse;
import org.apsara.tenant.api.v1.ListPoliciesRequest;
import org.apsara.tenant.api.v1.ListPoliciesResponse;
import org.apsara.tenant.api.v1.ListTenantsRequest;
import org.apsara.tenant.api.v1.ListTenantsResponse;
import org.apsara.tenant.api.v1.ListUsersRequest;
import org.apsara.tenant.api.v1.ListUsersResponse;
import org.apsara.tenant.api.v1.RemoveUserFromGroupRequest;
import org.apsara.tenant.api.v1.RemoveUserFromGroupResponse;
import org.apsara.tenant.api.v1.ServicePrincipal;
import org.apsara.tenant.api.v1.Tenant;
import org.apsara.tenant.api.v1.UpdateAccessKeyRequest;
import org.apsara.tenant.api.v1.UpdateAccessKeyResponse;
import org.apsara.tenant.server.store.IdentityStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gRPC face of the identity service: each call is authorized for the caller (authenticated
 * before by {@link org.apsara.security.grpc.AuthenticationServerInterceptor}) and then done by the
 * {@link IdentityStore}.
 *
 * <p>Every call checks one RAM action ({@code ram:<Method>}) on the resource it touches, named as
 * {@link ResourceName} names it: the tenant for tenant calls, {@code user/<name>} for user and
 * AccessKey calls and attaching policies to a user, {@code group/<name>} for group calls,
 * {@code policy/<name>} for policy calls, {@code user/*} (and so on) for lists. {@code ListTenants}
 * returns the tenants on which the caller may {@code ram:GetTenant}; {@code GetCallerIdentity}
 * needs no permission; {@code GetServiceCredential} checks {@code ram:GetServiceCredential} on
 * {@code acs:ram:*:system:service/<service>} ({@link ResourceName#serviceCredential}). Names are validated before authorization, so that a resource name is never
 * built from a malformed one.
 *
 * <p>A change is answered once this server's {@link IdentityView} shows it (waiting at most {@link
 * #VIEW_CATCH_UP_TIMEOUT}), so that a client can use a key it just created, or a permission it just
 * granted, on this server at once. Errors, denials included, reach the client through {@code
 * onError}; nothing escapes a handler.
 *
 * <p>Thread-safe.
 */
public final class IdentityServiceImpl extends IdentityServiceGrpc.IdentityServiceImplBase {
  /**
   * How many days from today (UTC) {@code GetServiceCredential} gives out keys for: one, so that a
   * request signed just before midnight and checked just after, or the other way round, verifies.
   */
  public static final int SERVICE_CREDENTIAL_DAYS_MAX = 1;
  /** The longest a change's response waits for the change to be visible in the view. */
  public static final Duration VIEW_CATCH_UP_TIMEOUT = Duration.ofSeconds(5);

  private static final Logger LOG = LoggerFactory.getLogger(IdentityServiceImpl.class);

  private final IdentityStore store;
  private final IdentityView view;
  private final Authorizer authorizer;
  private final Authorization authorization;
  private final Clock clock;
  private final String region;

  /**
   * @param authorizer decides each call; {@code authorization} must use the same one, and is what
   *     checks and audits the calls; the authorizer is asked directly only to filter lists
   * @param region this cluster's region, which {@code GetServiceCredential} derives keys for
   */
  public IdentityServiceImpl(IdentityStore store, IdentityView view, Authorizer authorizer,
      Authorization authorization, Clock clock, String region) {
    this.store = Objects.requireNonNull(store, "store");
    this.view = Objects.requireNonNull(view, "view");
    this.authorizer = Objects.requireNonNull(authorizer, "authorizer");
    this.authorization = Objects.requireNonNull(authorization, "authorization");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.region = Objects.requireNonNull(region, "region");
    ServiceScope.checkName("region", region);
  }

  // ------------------------------------------------------------------------------------- tenants

  @Override
  public void createTenant(CreateTenantRequest request, StreamObserver<CreateTenantResponse> out) {
    respond(out, () -> {
      String name = request.getName();
      IdentityNames.checkTenantName(name);
      require("ram:CreateTenant", ResourceName.tenant(name), Access.MUTATE);
      Tenant tenant = store.createTenant(name, request.getDisplayName());
      return changed(CreateTenantResponse.newBuilder().setTenant(tenant).build());
    });
  }

  @Override
  public void getTenant(GetTenantRequest request, StreamObserver<GetTenantResponse> out) {
    respond(out, () -> {
      String name = tenantOrCallers(request.getName());
      require("ram:GetTenant", ResourceName.tenant(name), Access.READ);
      return GetTenantResponse.newBuilder().setTenant(store.getTenant(name)).build();
    });
  }

  @Override
  public void listTenants(ListTenantsRequest request, StreamObserver<ListTenantsResponse> out) {
    respond(out, () -> {
      Principal caller = caller();
      Map<String, String> context =
          Authorization.requestContext(SecurityContext.currentOrigin(), Instant.now(clock));
      ListTenantsResponse.Builder response = ListTenantsResponse.newBuilder();
      for (Tenant tenant : store.listTenants()) {
        String resource = ResourceName.tenant(tenant.getName()).toString();
        if (authorizer.authorize(caller, "ram:GetTenant", resource, context).allowed()) {
          response.addTenants(tenant);
        }
      }
      return response.build();
    });
  }

  @Override
  public void deleteTenant(DeleteTenantRequest request, StreamObserver<DeleteTenantResponse> out) {
    respond(out, () -> {
      String name = request.getName();
      IdentityNames.checkTenantName(name);
      require("ram:DeleteTenant", ResourceName.tenant(name), Access.MUTATE);
      store.deleteTenant(name);
      return changed(DeleteTenantResponse.getDefaultInstance());
    });
  }

  // --------------------------------------------------------------------------------------- users

  @Override
  public void createUser(CreateUserRequest request, StreamObserver<CreateUserResponse> out) {
    respond(out, () -> {
      String tenant = tenantOrCallers(request.getTenant());
      IdentityNames.checkUserName(request.getUserName());
      require("ram:CreateUser", ResourceName.user(tenant, request.getUserName()), Access.MUTATE);
      return changed(CreateUserResponse.newBuilder()
          .setUser(store.createUser(tenant, request.getUserName(), request.getDisplayName()))
          .build());
    });
  }

  @Override
  public void getUser(GetUserRequest request, StreamObserver<GetUserResponse> out) {
    respond(out, () -> {
      String tenant = tenantOrCallers(request.getTenant());
      String user = userOrCallers(tenant, request.getUserName());
      require("ram:GetUser", ResourceName.user(tenant, user), Access.READ);
      return GetUserResponse.newBuilder().setUser(store.getUser(tenant, user)).build();
    });
  }

  @Override
  public void listUsers(ListUsersRequest request, StreamObserver<ListUsersResponse> out) {
    respond(out, () -> {
      String tenant = tenantOrCallers(request.getTenant());
      require("ram:ListUsers", ResourceName.allUsers(tenant), Access.READ);
      return ListUsersResponse.newBuilder()
          .addAllUsers(store.listUsers(tenant, request.getGroupName())).build();
    });
  }

  @Override
  public void deleteUser(DeleteUserRequest request, StreamObserver<DeleteUserResponse> out) {
    respond(out, () -> {
      String tenant = tenantOrCallers(request.getTenant());
      IdentityNames.checkUserName(request.getUserName());
      require("ram:DeleteUser", ResourceName.user(tenant, request.getUserName()), Access.MUTATE);
      store.deleteUser(tenant, request.getUserName());
      return changed(DeleteUserResponse.getDefaultInstance());
    });
  }

  // -------------------------------------------------------------------------------------- groups

  @Override
  public void createGroup(CreateGroupRequest request, StreamObserver<CreateGroupResponse> out) {
    respond(out, () -> {
      String tenant = tenantOrCallers(request.getTenant());
      IdentityNames.checkGroupName(request.getGroupName());
      require("ram:CreateGroup", ResourceName.group(tenant, request.getGroupName()), Access.MUTATE);
      return changed(CreateGroupResponse.newBuilder()
          .setGroup(store.createGroup(tenant, request.getGroupName(), request.getDescription()))
          .build());
    });
  }

  @Override
  public void deleteGroup(DeleteGroupRequest request, StreamObserver<DeleteGroupResponse> out) {
    respond(out, () -> {
      String tenant = tenantOrCallers(request.getTenant());
      IdentityNames.checkGroupName(request.getGroupName());
      require("ram:DeleteGroup", ResourceName.group(tenant, request.getGroupName()), Access.MUTATE);
      store.deleteGroup(tenant, request.getGroupName());
      return changed(DeleteGroupResponse.getDefaultInstance());
    });
  }

  @Override
  public void listGroups(ListGroupsRequest request, StreamObserver<ListGroupsResponse> out) {
    respond(out, () -> {
      String tenant = tenantOrCallers(request.getTenant());
      require("ram:ListGroups", ResourceName.allGroups(tenant), Access.READ);
      return ListGroupsResponse.newBuilder()
          .addAllGroups(store.listGroups(tenant, request.getUserName())).build();
    });
  }

  @Override
  public void addUserToGroup(
      AddUserToGroupRequest request, StreamObserver<AddUserToGroupResponse> out) {
    respond(out, () -> {
      String tenant = tenantOrCallers(request.getTenant());
      IdentityNames.checkGroupName(request.getGroupName());
      require("ram:AddUserToGroup", ResourceName.group(tenant, request.getGroupName()),
          Access.MUTATE);
      store.addUserToGroup(tenant, request.getUserName(), request.getGroupName());
      return changed(AddUserToGroupResponse.getDefaultInstance());
    });
  }

  @Override
  public void removeUserFromGroup(
      RemoveUserFromGroupRequest request, StreamObserver<RemoveUserFromGroupResponse> out) {
    respond(out, () -> {
      String tenant = tenantOrCallers(request.getTenant());
      IdentityNames.checkGroupName(request.getGroupName());
      require("ram:RemoveUserFromGroup", ResourceName.group(tenant, request.getGroupName()),
          Access.MUTATE);
      store.removeUserFromGroup(tenant, request.getUserName(), request.getGroupName());
      return changed(RemoveUserFromGroupResponse.getDefaultInstance());
    });
  }

  // --------------------------------------------------------------------------------- access keys

  @Override
  public void createAccessKey(
      CreateAccessKeyRequest request, StreamObserver<CreateAccessKeyResponse> out) {
    respond(out, () -> {
      String tenant = tenantOrCallers(request.getTenant());
      String user = userOrCallers(tenant, request.getUserName());
      require("ram:CreateAccessKey", ResourceName.user(tenant, user), Access.MUTATE);
      CreatedAccessKey created = store.createAccessKey(tenant, user);
      return changed(CreateAccessKeyResponse.newBuilder()
          .setAccessKey(created.accessKey())
          .setAccessKeySecret(created.credentials().accessKeySecret())
          .build());
    });
  }

  @Override
  public void listAccessKeys(
      ListAccessKeysRequest request, StreamObserver<ListAccessKeysResponse> out) {
    respond(out, () -> {
      String tenant = tenantOrCallers(request.getTenant());
      String user = userOrCallers(tenant, request.getUserName());
      require("ram:ListAccessKeys", ResourceName.user(tenant, user), Access.READ);
      return ListAccessKeysResponse.newBuilder()
          .addAllAccessKeys(store.listAccessKeys(tenant, user)).build();
    });
  }

  @Override
  public void updateAccessKey(
      UpdateAccessKeyRequest request, StreamObserver<UpdateAccessKeyResponse> out) {
    respond(out, () -> {
      String tenant = tenantOrCallers(request.getTenant());
      String user = userOrCallers(tenant, request.getUserName());
      boolean enabled = switch (request.getStatus()) {
        case ACCESS_KEY_STATUS_ACTIVE -> true;
        case ACCESS_KEY_STATUS_INACTIVE -> false;
        default -> throw new IllegalArgumentException("status must be "
            + AccessKeyStatus.ACCESS_KEY_STATUS_ACTIVE + " or "
            + AccessKeyStatus.ACCESS_KEY_STATUS_INACTIVE + ", not " + request.getStatus());
      };
      require("ram:UpdateAccessKey", ResourceName.user(tenant, user), Access.MUTATE);
      return changed(UpdateAccessKeyResponse.newBuilder()
          .setAccessKey(store.updateAccessKey(tenant, user, request.getAccessKeyId(), enabled))
          .build());
    });
  }

  @Override
  public void deleteAccessKey(
      DeleteAccessKeyRequest request, StreamObserver<DeleteAccessKeyResponse> out) {
    respond(out, () -> {
      String tenant = tenantOrCallers(request.getTenant());
      String user = userOrCallers(tenant, request.getUserName());
      require("ram:DeleteAccessKey", ResourceName.user(tenant, user), Access.MUTATE);
      store.deleteAccessKey(tenant, user, request.getAccessKeyId());
      return changed(DeleteAccessKeyResponse.getDefaultInstance());
    });
  }

  // ------------------------------------------------------------------------------------ policies

  @Override
  public void createPolicy(CreatePolicyRequest request, StreamObserver<CreatePolicyResponse> out) {
    respond(out, () -> {
      String tenant = tenantOrCallers(request.getTenant());
      IdentityNames.checkPolicyName(request.getPolicyName());
      require("ram:CreatePolicy", ResourceName.policy(tenant, request.getPolicyName()),
          Access.MUTATE);
      return changed(CreatePolicyResponse.newBuilder().setPolicy(store.createPolicy(tenant,
          request.getPolicyName(), request.getDocument(), request.getDescription())).build());
    });
  }

  @Override
  public void getPolicy(GetPolicyRequest request, StreamObserver<GetPolicyResponse> out) {
    respond(out, () -> {
      String tenant = tenantOrCallers(request.getTenant());
      IdentityNames.checkPolicyName(request.getPolicyName());
      require("ram:GetPolicy", ResourceName.policy(tenant, request.getPolicyName()), Access.READ);
      return GetPolicyResponse.newBuilder()
          .setPolicy(store.getPolicy(tenant, request.getPolicyName())).build();
    });
  }

  @Override
  public void listPolicies(ListPoliciesRequest request, StreamObserver<ListPoliciesResponse> out) {
    respond(out, () -> {
      String tenant = tenantOrCallers(request.getTenant());
      require("ram:ListPolicies", ResourceName.allPolicies(tenant), Access.READ);
      return ListPoliciesResponse.newBuilder().addAllPolicies(
          store.listPolicies(tenant, request.getUserName(), request.getGroupName())).build();
    });
  }

  @Override
  public void deletePolicy(DeletePolicyRequest request, StreamObserver<DeletePolicyResponse> out) {
    respond(out, () -> {
      String tenant = tenantOrCallers(request.getTenant());
      IdentityNames.checkPolicyName(request.getPolicyName());
      require("ram:DeletePolicy", ResourceName.policy(tenant, request.getPolicyName()),
          Access.MUTATE);
      store.deletePolicy(tenant, request.getPolicyName());
      return changed(DeletePolicyResponse.getDefaultInstance());
    });
  }

  @Override
  public void attachPolicyToUser(
      AttachPolicyToUserRequest request, StreamObserver<AttachPolicyToUserResponse> out) {
    respond(out, () -> {
      String tenant = tenantOrCallers(request.getTenant());
      IdentityNames.checkUserName(request.getUserName());
      require("ram:AttachPolicyToUser", ResourceName.user(tenant, request.getUserName()),
          Access.MUTATE);
      store.attachPolicyToUser(tenant, request.getPolicyName(), request.getUserName());
      return changed(AttachPolicyToUserResponse.getDefaultInstance());
    });
  }

  @Override
  public void detachPolicyFromUser(
      DetachPolicyFromUserRequest request, StreamObserver<DetachPolicyFromUserResponse> out) {
    respond(out, () -> {
      String tenant = tenantOrCallers(request.getTenant());
      IdentityNames.checkUserName(request.getUserName());
      require("ram:DetachPolicyFromUser", ResourceName.user(tenant, request.getUserName()),
          Access.MUTATE);
      store.detachPolicyFromUser(tenant, request.getPolicyName(), request.getUserName());
      return changed(DetachPolicyFromUserResponse.getDefaultInstance());
    });
  }

  @Override
  public void attachPolicyToGroup(
      AttachPolicyToGroupRequest request, StreamObserver<AttachPolicyToGroupResponse> out) {
    respond(out, () -> {
      String tenant = tenantOrCallers(request.getTenant());
      IdentityNames.checkGroupName(request.getGroupName());
      require("ram:AttachPolicyToGroup", ResourceName.group(tenant, request.getGroupName()),
          Access.MUTATE);
      store.attachPolicyToGroup(tenant, request.getPolicyName(), request.getGroupName());
      return changed(AttachPolicyToGroupResponse.getDefaultInstance());
    });
  }

  @Override
  public void detachPolicyFromGroup(
      DetachPolicyFromGroupRequest request, StreamObserver<DetachPolicyFromGroupResponse> out) {
    respond(out, () -> {
      String tenant = tenantOrCallers(request.getTenant());
      IdentityNames.checkGroupName(request.getGroupName());
      require("ram:DetachPolicyFromGroup", ResourceName.group(tenant, request.getGroupName()),
          Access.MUTATE);
      store.detachPolicyFromGroup(tenant, request.getPolicyName(), request.getGroupName());
      return changed(DetachPolicyFromGroupResponse.getDefaultInstance());
    });
  }

  // -------------------------------------------------------------------------------------- caller

  @Override
  public void getCallerIdentity(
      GetCallerIdentityRequest request, StreamObserver<GetCallerIdentityResponse> out) {
    respond(out, () -> {
      Principal caller = caller();
      return GetCallerIdentityResponse.newBuilder()
          .setTenant(caller.tenantId())
          .setUserName(caller.userName())
          .setAccessKeyId(caller.accessKeyId())
          .setArn(caller.arn())
          .build();
    });
  }

  // ------------------------------------------------------------------------------------ services

  /**
   * Answers from the view, like signature checks. Allowed calls are not audited: every service
   * asks again about every AccessKey it uses every few seconds, which would bury the audit trail;
   * denials are.
   */
  @Override
  public void getServiceCredential(
      GetServiceCredentialRequest request, StreamObserver<GetServiceCredentialResponse> out) {
    respond(out, () -> {
      String accessKeyId = request.getAccessKeyId();
      if (!SignatureV3.isValidAccessKeyId(accessKeyId)) {
        throw new IllegalArgumentException("\"" + accessKeyId + "\" is not an AccessKey id");
      }
      ServiceScope.checkName("service", request.getService());
      LocalDate date = CredentialScope.parseDate(request.getDate());
      LocalDate today = LocalDate.ofInstant(clock.instant(), ZoneOffset.UTC);
      if (Math.abs(ChronoUnit.DAYS.between(today, date)) > SERVICE_CREDENTIAL_DAYS_MAX) {
        throw new IllegalArgumentException("the date " + request.getDate() + " is more than "
            + SERVICE_CREDENTIAL_DAYS_MAX + " day from today (" + today + " UTC); keys are given"
            + " out for yesterday, today and tomorrow only");
      }
      require("ram:GetServiceCredential", ResourceName.serviceCredential(request.getService()),
          Access.READ);
      IdentityView.KeyWithPolicies found = view.accessKeyWithPolicies(accessKeyId)
          .orElseThrow(() -> Status.NOT_FOUND
              .withDescription("the AccessKey " + accessKeyId + " does not exist")
              .asRuntimeException());
      Principal owner = found.key().principal();
      CredentialScope scope = new CredentialScope(date, region, request.getService());
      byte[] signingKey =
          ScopedSignature.deriveSigningKey(found.key().accessKeySecret(), scope);
      GetServiceCredentialResponse.Builder response = GetServiceCredentialResponse.newBuilder()
          .setSigningKey(ByteString.copyFrom(signingKey))
          .setEnabled(found.key().enabled())
          .setPrincipal(ServicePrincipal.newBuilder()
              .setTenant(owner.tenantId())
              .setUserName(owner.userName())
              .setRoot(TenantAuthorizer.isRoot(owner))
              .setArn(owner.arn()))
          .setRegion(region);
      for (Policy policy : found.policies()) {
        response.addPolicies(EffectivePolicy.newBuilder()
            .setName(policy.name()).setDocument(policy.document().toJson()));
      }
      Arrays.fill(signingKey, (byte) 0); // the response holds its own copy
      return response.build();
    });
  }

  // ------------------------------------------------------------------------------------- helpers

  /**
   * Runs a handler's body and answers with its result or its error. Denials and store errors are
   * statuses already; a malformed argument becomes {@code INVALID_ARGUMENT}; anything else is a bug,
   * logged here and answered as {@code INTERNAL} without details.
   */
  private static <T> void respond(StreamObserver<T> out, Supplier<T> body) {
    T response;
    try {
      response = body.get();
    } catch (StatusRuntimeException e) {
      out.onError(e);
      return;
    } catch (IllegalArgumentException e) {
      out.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
      return;
    } catch (RuntimeException e) {
      LOG.error("identity call failed unexpectedly", e);
      out.onError(Status.INTERNAL.withDescription("internal error").asRuntimeException());
      return;
    }
    out.onNext(response);
    out.onCompleted();
  }

  /** Returns {@code response} once the change just made is visible in this server's view. */
  private <T> T changed(T response) {
    long written = store.currentRevision();
    try {
      if (!view.awaitRevision(written, VIEW_CATCH_UP_TIMEOUT)) {
        // The change is committed either way; it only may not be usable at once on this server.
        LOG.atWarn().addKeyValue("revision", written).addKeyValue("viewRevision", view.revision())
            .log("the identity view did not catch up with a change in time");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return response;
  }

  private void require(String action, ResourceName resource, Access access) {
    authorization.require(action, resource.toString(), access);
  }

  private static Principal caller() {
    return SecurityContext.currentPrincipal().orElseThrow(() -> Status.UNAUTHENTICATED
        .withDescription("the call is not authenticated").asRuntimeException());
  }

  /** The tenant a request names, or the caller's when it names none. */
  private static String tenantOrCallers(String tenant) {
    if (tenant.isEmpty()) {
      return caller().tenantId();
    }
    IdentityNames.checkTenantName(tenant);
    return tenant;
  }

  /** The user a request names, or the caller itself when it names none in the caller's tenant. */
  private static String userOrCallers(String tenant, String user) {
    if (!user.isEmpty()) {
      IdentityNames.checkUserName(user);
      return user;
    }
    Principal caller = caller();
    if (!caller.tenantId().equals(tenant)) {
      throw new IllegalArgumentException(
          "a user name is required for a user of another tenant than the caller's");
    }
    return caller.userName();
  }
}
