package org.apsara.pangu.master.server;

import io.grpc.Status;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.Optional;
import org.apsara.pangu.master.namespace.NamespaceLimits;
import org.apsara.security.grpc.Authorization;
import org.apsara.security.grpc.Authorization.Access;
import org.apsara.security.grpc.SecurityContext;
import org.apsara.security.sign.Principal;
import org.apsara.tenant.api.IdentityNames;

/**
 * Who calls the master and what they may do: the {@link Caller} of each request, its RAM
 * authorization, and the name its writer leases are held under.
 *
 * <h2>Resources and actions</h2>
 *
 * <p>A path belongs to a tenant: {@code /tenants/T/REST} is tenant {@code T}'s resource {@code
 * acs:pangu:<region>:T:file/REST} (the directory {@code /tenants/T} itself is {@code file/}); every
 * other path {@code /P} belongs to the cluster, {@code acs:pangu:<region>:system:file/P}. Reading
 * (status, listings, summaries, chunk locations) is {@value #READ}; changing (mkdirs, create,
 * append, rename on both paths, delete, times, permissions, lease recovery) is {@value #WRITE}:
 * the same two permission kinds as Nuwa's. A tenant's root user may do both inside its tenant.
 *
 * <p>Changing an owner ({@value #SET_OWNER}) or a quota ({@value #SET_QUOTA}), reading the
 * cluster report ({@value #GET_CLUSTER_REPORT}) and decommissioning a chunkserver ({@value
 * #DECOMMISSION_CHUNK_SERVER}) are for the cluster's operators: their resources are the system
 * tenant's ({@code acs:pangu:<region>:system:file/<full path>}, {@code
 * acs:pangu:<region>:system:cluster}, {@code acs:pangu:<region>:system:chunkserver/<id>}), so
 * that a tenant cannot raise its own quota.
 *
 * <p>Calls on an open file by id (AddChunk, CommitChunk, CloseFile) and lease renewals are
 * checked through the lease: a signed caller's lease names are prefixed with its tenant and user,
 * so a lease taken by one user can never be used by another.
 *
 * <p>Without authentication every call is the configured default owner and nothing is checked.
 * Thread-safe; every method reads the current gRPC call's context.
 */
public final class MasterAccess {
  public static final String SERVICE = "pangu";
  public static final String READ = "pangu:Read";
  public static final String WRITE = "pangu:Write";
  public static final String SET_OWNER = "pangu:SetOwner";
  public static final String SET_QUOTA = "pangu:SetQuota";
  public static final String GET_CLUSTER_REPORT = "pangu:GetClusterReport";
  public static final String DECOMMISSION_CHUNK_SERVER = "pangu:DecommissionChunkServer";
  /** Paths under this directory belong to the tenant named by their next component. */
  public static final String TENANTS_DIRECTORY = "/tenants/";
  /** The tenant that owns every path outside {@link #TENANTS_DIRECTORY}. */
  public static final String SYSTEM_TENANT = IdentityNames.SYSTEM_TENANT;

  private final Optional<Authorization> authorization;
  private final String region;
  private final Caller anonymous;

  private MasterAccess(Optional<Authorization> authorization, String region, Caller anonymous) {
    this.authorization = authorization;
    this.region = region;
    this.anonymous = anonymous;
  }

  /** Checks nothing; every caller is {@code owner}:{@code group}. */
  public static MasterAccess unauthenticated(String owner, String group) {
    return new MasterAccess(Optional.empty(), "*",
        new Caller(owner, group, "acs:ram::" + SYSTEM_TENANT + ":user/" + owner));
  }

  /**
   * Authorizes every call with {@code authorization}, whose principal an authentication
   * interceptor put in the call's context.
   *
   * @param region the cluster's region, as resources name it
   */
  public static MasterAccess authenticated(Authorization authorization, String region) {
    return new MasterAccess(Optional.of(Objects.requireNonNull(authorization, "authorization")),
        Objects.requireNonNull(region, "region"), null);
  }

  public boolean checksCalls() {
    return authorization.isPresent();
  }

  /**
   * The current caller: for a signed call its user (owner) and tenant (group), chunk tokens
   * issued to its ARN.
   */
  public Caller caller() {
    if (authorization.isEmpty()) {
      return anonymous;
    }
    Principal p = principal();
    return new Caller(p.userName(), p.tenantId(), p.arn());
  }

  /** Refuses (PERMISSION_DENIED) unless the caller may read {@code path}. */
  public void read(String path) {
    authorization.ifPresent(a -> a.require(READ, fileResource(path), Access.READ));
  }

  /** Refuses (PERMISSION_DENIED) unless the caller may change {@code path}. */
  public void write(String path) {
    authorization.ifPresent(a -> a.require(WRITE, fileResource(path), Access.MUTATE));
  }

  /** Refuses unless the caller may perform the operator's {@code action} on {@code path}. */
  public void operate(String action, String path) {
    authorization.ifPresent(a -> a.require(action, systemFileResource(path), Access.MUTATE));
  }

  /** Refuses unless the caller may read the cluster report. */
  public void readClusterReport() {
    authorization.ifPresent(a -> a.require(GET_CLUSTER_REPORT,
        "acs:" + SERVICE + ":" + region + ":" + SYSTEM_TENANT + ":cluster", Access.READ));
  }

  /** Refuses unless the caller may start or end the decommissioning of chunkserver {@code id}. */
  public void decommissionChunkServer(String id) {
    authorization.ifPresent(a -> a.require(DECOMMISSION_CHUNK_SERVER,
        "acs:" + SERVICE + ":" + region + ":" + SYSTEM_TENANT + ":chunkserver/" + id,
        Access.MUTATE));
  }

  /**
   * The lease name a client's {@code clientName} stands for: {@code <tenant>/<user>/<name>} for
   * a signed call, the name itself otherwise.
   *
   * @throws IllegalArgumentException if the result exceeds the master's limit on lease names
   */
  public String leaseHolder(String clientName) {
    if (authorization.isEmpty()) {
      return clientName;
    }
    Principal p = principal();
    String scoped = p.tenantId() + "/" + p.userName() + "/" + clientName;
    int bytes = scoped.getBytes(StandardCharsets.UTF_8).length;
    if (bytes > NamespaceLimits.MAX_PRINCIPAL_NAME_BYTES) {
      throw new IllegalArgumentException("client_name with the caller's tenant and user ("
          + scoped + ") is " + bytes + " bytes, more than the most, "
          + NamespaceLimits.MAX_PRINCIPAL_NAME_BYTES);
    }
    return scoped;
  }

  /**
   * The resource of {@code path} (a valid absolute path), owned by its tenant (see the class
   * comment). A directory under {@link #TENANTS_DIRECTORY} whose name cannot be a tenant's, or is
   * the system tenant's, is the cluster's like any other path.
   */
  public String fileResource(String path) {
    if (path.startsWith(TENANTS_DIRECTORY)) {
      int end = path.indexOf('/', TENANTS_DIRECTORY.length());
      String tenant = path.substring(TENANTS_DIRECTORY.length(), end < 0 ? path.length() : end);
      if (IdentityNames.isTenantName(tenant) && !tenant.equals(SYSTEM_TENANT)) {
        return "acs:" + SERVICE + ":" + region + ":" + tenant + ":file"
            + (end < 0 ? "/" : path.substring(end));
      }
    }
    return systemFileResource(path);
  }

  private String systemFileResource(String path) {
    return "acs:" + SERVICE + ":" + region + ":" + SYSTEM_TENANT + ":file" + path;
  }

  private static Principal principal() {
    // The interceptor rejects unsigned calls before a handler runs; an empty context here is a
    // wiring mistake, which Authorization.require reports as UNAUTHENTICATED.
    return SecurityContext.currentPrincipal().orElseThrow(() -> Status.UNAUTHENTICATED
        .withDescription("the call is not authenticated").asRuntimeException());
  }
}
