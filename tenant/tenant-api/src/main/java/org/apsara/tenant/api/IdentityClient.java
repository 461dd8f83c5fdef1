package org.apsara.tenant.api;

import io.grpc.Channel;
import io.grpc.ChannelCredentials;
import io.grpc.ClientInterceptors;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettySslContextChannelCredentials;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apsara.common.net.HostPort;
import org.apsara.security.grpc.SigningClientInterceptor;
import org.apsara.security.sign.AccessKeyCredentials;
import org.apsara.security.tls.TlsContexts;
import org.apsara.security.tls.TlsMaterial;
import org.apsara.tenant.api.v1.AccessKey;
import org.apsara.tenant.api.v1.AccessKeyStatus;
import org.apsara.tenant.api.v1.AddUserToGroupRequest;
import org.apsara.tenant.api.v1.AttachPolicyToGroupRequest;
import org.apsara.tenant.api.v1.AttachPolicyToUserRequest;
import org.apsara.tenant.api.v1.CreateAccessKeyRequest;
import org.apsara.tenant.api.v1.CreateAccessKeyResponse;
import org.apsara.tenant.api.v1.CreateGroupRequest;
import org.apsara.tenant.api.v1.CreatePolicyRequest;
import org.apsara.tenant.api.v1.CreateTenantRequest;
import org.apsara.tenant.api.v1.CreateUserRequest;
import org.apsara.tenant.api.v1.DeleteAccessKeyRequest;
import org.apsara.tenant.api.v1.DeleteGroupRequest;
import org.apsara.tenant.api.v1.DeletePolicyRequest;
import org.apsara.tenant.api.v1.DeleteTenantRequest;
import org.apsara.tenant.api.v1.DeleteUserRequest;
import org.apsara.tenant.api.v1.DetachPolicyFromGroupRequest;
import org.apsara.tenant.api.v1.DetachPolicyFromUserRequest;
import org.apsara.tenant.api.v1.GetCallerIdentityRequest;
import org.apsara.tenant.api.v1.GetCallerIdentityResponse;
import org.apsara.tenant.api.v1.GetPolicyRequest;
import org.apsara.tenant.api.v1.GetServiceCredentialRequest;
import org.apsara.tenant.api.v1.GetServiceCredentialResponse;
import org.apsara.tenant.api.v1.GetTenantRequest;
import org.apsara.tenant.api.v1.GetUserRequest;
import org.apsara.tenant.api.v1.Group;
import org.apsara.tenant.api.v1.IdentityServiceGrpc;
import org.apsara.tenant.api.v1.ListAccessKeysRequest;
import org.apsara.tenant.api.v1.ListGroupsRequest;
import org.apsara.tenant.api.v1.ListPoliciesRequest;
import org.apsara.tenant.api.v1.ListTenantsRequest;
import org.apsara.tenant.api.v1.ListUsersRequest;
import org.apsara.tenant.api.v1.Policy;
import org.apsara.tenant.api.v1.RemoveUserFromGroupRequest;
import org.apsara.tenant.api.v1.Tenant;
import org.apsara.tenant.api.v1.UpdateAccessKeyRequest;
import org.apsara.tenant.api.v1.User;

/**
 * A blocking client of the identity service, for command lines and tools.
 *
 * <pre>{@code
 * CredentialsFile.Profile profile =
 *     CredentialsFile.read(CredentialsFile.defaultPath(), "default").orElseThrow();
 * try (IdentityClient iam = IdentityClient.connect(profile)) {
 *   iam.createUser("", "alice", "Alice");          // "" is the caller's own tenant
 *   CreatedAccessKey key = iam.createAccessKey("", "alice");
 * }
 * }</pre>
 *
 * <p>Every call is signed with the client's AccessKey and has the deadline given at construction
 * ({@link #DEFAULT_DEADLINE} unless told otherwise). A failed call throws gRPC's {@link
 * io.grpc.StatusRuntimeException}; its status description says what went wrong, and a rejected
 * signature carries the error code (for example {@code InvalidAccessKeyId.Inactive}) in the trailer
 * {@link org.apsara.security.grpc.AuthenticationServerInterceptor#ERROR_CODE_TRAILER}. A tenant or
 * user name left empty ("") means the caller's own, as in the service's contract.
 *
 * <p>Thread-safe. {@link #close()} shuts down the channel if this client opened it.
 */
public final class IdentityClient implements AutoCloseable {
  /** Deadline of each call unless another is given. */
  public static final Duration DEFAULT_DEADLINE = Duration.ofSeconds(10);
  /**
   * Largest response accepted: above the largest list the service returns (every policy of a
   * tenant, see {@link IdentityLimits}), which gRPC's default of 4 MiB would not admit.
   */
  public static final int MAX_INBOUND_MESSAGE_BYTES = 16 * 1024 * 1024;
  /** How long {@link #close()} waits for calls in flight. */
  private static final Duration SHUTDOWN_GRACE = Duration.ofSeconds(2);

  private final IdentityServiceGrpc.IdentityServiceBlockingStub stub;
  private final Duration deadline;
  private final ManagedChannel ownedChannel;

  /**
   * A client over {@code channel}, which must already sign calls (see {@link
   * SigningClientInterceptor}); the caller keeps ownership of the channel.
   */
  public IdentityClient(Channel channel, Duration deadline) {
    this(channel, deadline, null);
  }

  private IdentityClient(Channel channel, Duration deadline, ManagedChannel ownedChannel) {
    this.stub = IdentityServiceGrpc.newBlockingStub(Objects.requireNonNull(channel, "channel"))
        .withMaxInboundMessageSize(MAX_INBOUND_MESSAGE_BYTES);
    this.deadline = Objects.requireNonNull(deadline, "deadline");
    if (deadline.isNegative() || deadline.isZero()) {
      throw new IllegalArgumentException("the deadline must be positive: " + deadline);
    }
    this.ownedChannel = ownedChannel;
  }

  /**
   * Connects to the service at {@code endpoint} in plaintext and signs every call with
   * {@code credentials}.
   */
  public static IdentityClient connect(HostPort endpoint, AccessKeyCredentials credentials) {
    try {
      return connect(endpoint, credentials, Optional.empty());
    } catch (IOException e) {
      throw new AssertionError("plaintext reads no file", e);
    }
  }

  /**
   * Connects to the service at {@code endpoint}, over TLS if {@code tls} is given (the service
   * verified against its trusted CA file, the material's certificate presented if it has one),
   * and signs every call with {@code credentials}.
   *
   * @throws IOException if a TLS file cannot be read
   */
  public static IdentityClient connect(HostPort endpoint, AccessKeyCredentials credentials,
      Optional<TlsMaterial> tls) throws IOException {
    ManagedChannel channel = Grpc.newChannelBuilderForAddress(
            endpoint.host(), endpoint.port(), channelCredentials(tls))
        .maxInboundMessageSize(MAX_INBOUND_MESSAGE_BYTES)
        .build();
    Channel signed = ClientInterceptors.intercept(
        channel, new SigningClientInterceptor(credentials, Clock.systemUTC()));
    return new IdentityClient(signed, DEFAULT_DEADLINE, channel);
  }

  /**
   * Connects with a profile of the credentials file.
   *
   * @throws IllegalArgumentException if the profile names no endpoint
   * @throws java.io.UncheckedIOException if the profile's TLS files cannot be read
   */
  public static IdentityClient connect(CredentialsFile.Profile profile) {
    HostPort endpoint = profile.endpoint().orElseThrow(() -> new IllegalArgumentException(
        "profile [" + profile.name() + "] has no " + CredentialsFile.KEY_ENDPOINT));
    try {
      return connect(endpoint, profile.credentials(), profile.tls());
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e.getMessage(), e);
    }
  }

  /**
   * The channel credentials for calling the service: TLS with {@code tls}'s files, plaintext
   * without.
   *
   * @throws IOException if a TLS file cannot be read
   */
  public static ChannelCredentials channelCredentials(Optional<TlsMaterial> tls)
      throws IOException {
    if (tls.isEmpty()) {
      return InsecureChannelCredentials.create();
    }
    return NettySslContextChannelCredentials.create(TlsContexts.forClient(tls.get()));
  }

  /** The generated stub, with this client's deadline, for calls the methods below do not cover. */
  public IdentityServiceGrpc.IdentityServiceBlockingStub stub() {
    return stub.withDeadlineAfter(deadline.toNanos(), TimeUnit.NANOSECONDS);
  }

  // ------------------------------------------------------------------------------------- tenants

  public Tenant createTenant(String name, String displayName) {
    return stub().createTenant(CreateTenantRequest.newBuilder()
        .setName(name).setDisplayName(displayName).build()).getTenant();
  }

  public Tenant getTenant(String name) {
    return stub().getTenant(GetTenantRequest.newBuilder().setName(name).build()).getTenant();
  }

  /** The tenants the caller may read. */
  public List<Tenant> listTenants() {
    return stub().listTenants(ListTenantsRequest.getDefaultInstance()).getTenantsList();
  }

  public void deleteTenant(String name) {
    stub().deleteTenant(DeleteTenantRequest.newBuilder().setName(name).build());
  }

  // --------------------------------------------------------------------------------------- users

  public User createUser(String tenant, String userName, String displayName) {
    return stub().createUser(CreateUserRequest.newBuilder()
        .setTenant(tenant).setUserName(userName).setDisplayName(displayName).build()).getUser();
  }

  public User getUser(String tenant, String userName) {
    return stub().getUser(GetUserRequest.newBuilder()
        .setTenant(tenant).setUserName(userName).build()).getUser();
  }

  /** Every user of the tenant, or only the members of {@code groupName} unless it is "". */
  public List<User> listUsers(String tenant, String groupName) {
    return stub().listUsers(ListUsersRequest.newBuilder()
        .setTenant(tenant).setGroupName(groupName).build()).getUsersList();
  }

  public void deleteUser(String tenant, String userName) {
    stub().deleteUser(DeleteUserRequest.newBuilder()
        .setTenant(tenant).setUserName(userName).build());
  }

  // -------------------------------------------------------------------------------------- groups

  public Group createGroup(String tenant, String groupName, String description) {
    return stub().createGroup(CreateGroupRequest.newBuilder()
        .setTenant(tenant).setGroupName(groupName).setDescription(description).build()).getGroup();
  }

  public void deleteGroup(String tenant, String groupName) {
    stub().deleteGroup(DeleteGroupRequest.newBuilder()
        .setTenant(tenant).setGroupName(groupName).build());
  }

  /** Every group of the tenant, or only those {@code userName} belongs to unless it is "". */
  public List<Group> listGroups(String tenant, String userName) {
    return stub().listGroups(ListGroupsRequest.newBuilder()
        .setTenant(tenant).setUserName(userName).build()).getGroupsList();
  }

  public void addUserToGroup(String tenant, String userName, String groupName) {
    stub().addUserToGroup(AddUserToGroupRequest.newBuilder()
        .setTenant(tenant).setUserName(userName).setGroupName(groupName).build());
  }

  public void removeUserFromGroup(String tenant, String userName, String groupName) {
    stub().removeUserFromGroup(RemoveUserFromGroupRequest.newBuilder()
        .setTenant(tenant).setUserName(userName).setGroupName(groupName).build());
  }

  // --------------------------------------------------------------------------------- access keys

  /** Creates an AccessKey for {@code userName} ("" for the caller) and returns it with its secret. */
  public CreatedAccessKey createAccessKey(String tenant, String userName) {
    CreateAccessKeyResponse response = stub().createAccessKey(CreateAccessKeyRequest.newBuilder()
        .setTenant(tenant).setUserName(userName).build());
    AccessKey key = response.getAccessKey();
    return new CreatedAccessKey(
        key, new AccessKeyCredentials(key.getAccessKeyId(), response.getAccessKeySecret()));
  }

  public List<AccessKey> listAccessKeys(String tenant, String userName) {
    return stub().listAccessKeys(ListAccessKeysRequest.newBuilder()
        .setTenant(tenant).setUserName(userName).build()).getAccessKeysList();
  }

  /** Enables or disables an AccessKey; a disabled key's requests are rejected. */
  public AccessKey setAccessKeyEnabled(
      String tenant, String userName, String accessKeyId, boolean enabled) {
    return stub().updateAccessKey(UpdateAccessKeyRequest.newBuilder()
        .setTenant(tenant).setUserName(userName).setAccessKeyId(accessKeyId)
        .setStatus(enabled
            ? AccessKeyStatus.ACCESS_KEY_STATUS_ACTIVE
            : AccessKeyStatus.ACCESS_KEY_STATUS_INACTIVE)
        .build()).getAccessKey();
  }

  public void deleteAccessKey(String tenant, String userName, String accessKeyId) {
    stub().deleteAccessKey(DeleteAccessKeyRequest.newBuilder()
        .setTenant(tenant).setUserName(userName).setAccessKeyId(accessKeyId).build());
  }

  // ------------------------------------------------------------------------------------ policies

  public Policy createPolicy(String tenant, String policyName, String document, String description) {
    return stub().createPolicy(CreatePolicyRequest.newBuilder()
        .setTenant(tenant).setPolicyName(policyName).setDocument(document)
        .setDescription(description).build()).getPolicy();
  }

  public Policy getPolicy(String tenant, String policyName) {
    return stub().getPolicy(GetPolicyRequest.newBuilder()
        .setTenant(tenant).setPolicyName(policyName).build()).getPolicy();
  }

  /** Every policy of the tenant. */
  public List<Policy> listPolicies(String tenant) {
    return stub().listPolicies(ListPoliciesRequest.newBuilder().setTenant(tenant).build())
        .getPoliciesList();
  }

  /** The policies attached directly to a user. */
  public List<Policy> listPoliciesForUser(String tenant, String userName) {
    return stub().listPolicies(ListPoliciesRequest.newBuilder()
        .setTenant(tenant).setUserName(userName).build()).getPoliciesList();
  }

  /** The policies attached to a group. */
  public List<Policy> listPoliciesForGroup(String tenant, String groupName) {
    return stub().listPolicies(ListPoliciesRequest.newBuilder()
        .setTenant(tenant).setGroupName(groupName).build()).getPoliciesList();
  }

  public void deletePolicy(String tenant, String policyName) {
    stub().deletePolicy(DeletePolicyRequest.newBuilder()
        .setTenant(tenant).setPolicyName(policyName).build());
  }

  public void attachPolicyToUser(String tenant, String policyName, String userName) {
    stub().attachPolicyToUser(AttachPolicyToUserRequest.newBuilder()
        .setTenant(tenant).setPolicyName(policyName).setUserName(userName).build());
  }

  public void detachPolicyFromUser(String tenant, String policyName, String userName) {
    stub().detachPolicyFromUser(DetachPolicyFromUserRequest.newBuilder()
        .setTenant(tenant).setPolicyName(policyName).setUserName(userName).build());
  }

  public void attachPolicyToGroup(String tenant, String policyName, String groupName) {
    stub().attachPolicyToGroup(AttachPolicyToGroupRequest.newBuilder()
        .setTenant(tenant).setPolicyName(policyName).setGroupName(groupName).build());
  }

  public void detachPolicyFromGroup(String tenant, String policyName, String groupName) {
    stub().detachPolicyFromGroup(DetachPolicyFromGroupRequest.newBuilder()
        .setTenant(tenant).setPolicyName(policyName).setGroupName(groupName).build());
  }

  // -------------------------------------------------------------------------------------- caller

  /** Who the server takes the caller to be. */
  public GetCallerIdentityResponse getCallerIdentity() {
    return stub().getCallerIdentity(GetCallerIdentityRequest.getDefaultInstance());
  }

  // ------------------------------------------------------------------------------------ services

  /**
   * What a service needs to verify and authorize {@code accessKeyId}'s calls to it on {@code date}
   * (the derived signing key, never the secret; see {@code GetServiceCredential} in the contract).
   * The caller must be allowed {@code ram:GetServiceCredential} for the service.
   *
   * @param date the UTC day, {@code yyyyMMdd}
   * @throws io.grpc.StatusRuntimeException {@code NOT_FOUND} for an unknown AccessKey, and as
   *     every call
   */
  public GetServiceCredentialResponse getServiceCredential(
      String accessKeyId, String date, String service) {
    return stub().getServiceCredential(GetServiceCredentialRequest.newBuilder()
        .setAccessKeyId(accessKeyId).setDate(date).setService(service).build());
  }

  @Override
  public void close() {
    if (ownedChannel == null) {
      return;
    }
    ownedChannel.shutdown();
    try {
      if (!ownedChannel.awaitTermination(SHUTDOWN_GRACE.toNanos(), TimeUnit.NANOSECONDS)) {
        ownedChannel.shutdownNow();
      }
    } catch (InterruptedException e) {
      ownedChannel.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }
}
