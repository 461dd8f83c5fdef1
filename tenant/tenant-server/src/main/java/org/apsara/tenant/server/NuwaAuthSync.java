package org.apsara.tenant.server;

import io.etcd.jetcd.api.Permission;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apsara.nuwa.api.NuwaErrors;
import org.apsara.nuwa.client.KeyRange;
import org.apsara.security.crypto.Secrets;
import org.apsara.security.sign.Principal;
import org.apsara.security.sign.ResolvedAccessKey;
import org.apsara.tenant.api.IdentityNames;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps Nuwa's own users and roles (etcd's authentication) in line with the identity store, so
 * that a tenant's users can use Nuwa directly with their AccessKeys ({@code etcdctl --user
 * <AccessKeyId>:<AccessKeySecret>}) and reach the keys their policies allow, inside their
 * tenant's prefix {@link #tenantKeyPrefix}{@code (T)} = {@code /tenants/T/}:
 *
 * <ul>
 *   <li>each tenant T but the system tenant has the role {@link #tenantRole}{@code (T)} =
 *       {@code apsara.tenant.T}, with READWRITE on all of {@code /tenants/T/}: the role of the
 *       tenant's root user, who may do anything in its tenant;
 *   <li>each other user U of T with an enabled AccessKey has the role {@link #userRole}{@code (T,
 *       U)} = {@code apsara.user.T.U}, with the permissions its RAM policies grant on Nuwa keys
 *       (see {@link NuwaKeyGrants}; none by default);
 *   <li>each enabled AccessKey is a Nuwa user named by the AccessKey id, with the secret as
 *       password and its user's role as its only role; the system tenant's keys get Nuwa's
 *       {@value #NUWA_ROOT_ROLE} role instead, since its users are the cluster's operators;
 *   <li>a disabled or deleted key (a deleted user or tenant deletes its keys) has no Nuwa user; a
 *       deleted tenant, and a user without enabled keys, no role.
 * </ul>
 *
 * <p>It owns exactly the users named like AccessKeys ({@value Secrets#ACCESS_KEY_ID_PREFIX}...)
 * and the roles named {@value #TENANT_ROLE_PREFIX}... and {@value #USER_ROLE_PREFIX}...: those it
 * creates, changes and deletes; every other user and role, {@code root} included, it never
 * touches.
 *
 * <p><b>How.</b> A reconciler, apart from the identity RPCs (which neither wait for it nor fail
 * with it): the desired state is computed from the {@link IdentityView} (which holds the opened
 * secrets), and Nuwa is brought to it by passes on one thread of its own, so passes never overlap.
 * The first pass, and the first after a failure, is full: it lists Nuwa's users and roles, adds
 * what is missing, corrects roles and permissions, and deletes what is stale. Later passes, one
 * after each view change (changes arriving during a pass are folded into one next pass), apply
 * only the difference from the state the last pass reached. A failed pass is retried with backoff
 * ({@link #RETRY_BACKOFF_INITIAL} doubling up to {@link #RETRY_BACKOFF_MAX}), without end, since
 * Nuwa may come back at any time.
 *
 * <p><b>Passwords.</b> Nuwa cannot tell a password, only check one; a key's Nuwa user that exists
 * already when this process first meets it is checked with {@code Authenticate}, given the secret
 * with {@code UserChangePassword} only if the check fails, and remembered in memory as synced.
 * Checking rather than setting keeps a restart of the identity service from changing Nuwa's auth
 * store once per key, which would make every Nuwa client log in again as often. Each check or
 * change costs a hash on the Nuwa member (PBKDF2, tens of ms), so the first pass of a process
 * costs that per enabled key.
 *
 * <p><b>Several identity servers</b> run this against one Nuwa at once. Their changes are the same
 * ones computed from the same store, and each treats "already exists" / "not found" as done, so
 * they converge; a server whose view lags may briefly undo a newer change, and redoes it once its
 * view sees that change.
 *
 * <p>Limits: Nuwa's own (10,000 users, 10,000 roles); beyond them a pass fails and is retried,
 * logged each time.
 *
 * <p>Thread-safe.
 */
public final class NuwaAuthSync implements AutoCloseable {
  /** The start of the name of every role this class manages: {@code apsara.tenant.<tenant>}. */
  public static final String TENANT_ROLE_PREFIX = "apsara.tenant.";
  /** The start of the name of every user's role: {@code apsara.user.<tenant>.<user>}. */
  public static final String USER_ROLE_PREFIX = "apsara.user.";
  /** The start of every tenant's key prefix in Nuwa: {@code /tenants/<tenant>/}. */
  public static final String TENANTS_KEY_PREFIX = "/tenants/";
  /** Nuwa's (etcd's) all-powerful role, given to the system tenant's AccessKeys. */
  public static final String NUWA_ROOT_ROLE = "root";
  /** First delay before a failed pass is tried again. */
  static final Duration RETRY_BACKOFF_INITIAL = Duration.ofMillis(200);
  /** Longest delay between attempts while Nuwa keeps failing. */
  static final Duration RETRY_BACKOFF_MAX = Duration.ofSeconds(30);
  /** How long {@link #close} waits for a pass in flight to stop. */
  static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(5);

  private static final Logger LOG = LoggerFactory.getLogger(NuwaAuthSync.class);

  private final IdentityView view;
  private final NuwaAuthAdmin admin;
  private final String region;
  private final ScheduledExecutorService thread;

  // Guarded by this.
  private boolean passQueued;
  private boolean retryScheduled;
  private boolean closed;

  // Touched only on the sync thread.
  /** The state Nuwa was brought to by the last pass; null: unknown, the next pass is full. */
  private DesiredState reached;
  /** Users whose password this process has set to their secret. */
  private final Set<String> passwordsSet = new HashSet<>();
  /** By role: what of its policies could not be mapped exactly, as last logged. */
  private Map<String, List<String>> notMappedLogged = Map.of();

  // Written on the sync thread, read by anyone.
  private volatile long syncedRevision;
  private volatile int failuresInARow;

  private NuwaAuthSync(IdentityView view, NuwaAuthAdmin admin, String region) {
    this.view = Objects.requireNonNull(view, "view");
    this.admin = Objects.requireNonNull(admin, "admin");
    this.region = Objects.requireNonNull(region, "region");
    this.thread = Executors.newSingleThreadScheduledExecutor(runnable -> {
      Thread t = new Thread(runnable, "nuwa-auth-sync");
      t.setDaemon(true);
      return t;
    });
  }

  /**
   * Starts following {@code view}: a full pass now, in the background, then a pass after each
   * change. Takes ownership of {@code admin} (closed with this).
   *
   * @param region this cluster's region, as the resource names of Nuwa keys carry it
   */
  static NuwaAuthSync start(IdentityView view, NuwaAuthAdmin admin, String region) {
    NuwaAuthSync sync = new NuwaAuthSync(view, admin, region);
    view.addChangeListener(sync::requestPass);
    sync.requestPass();
    return sync;
  }

  /** The Nuwa role of {@code tenant}'s AccessKeys: {@code apsara.tenant.<tenant>}. */
  public static String tenantRole(String tenant) {
    return TENANT_ROLE_PREFIX + tenant;
  }

  /** The Nuwa role of the AccessKeys of {@code tenant}'s user {@code user} (not its root user). */
  public static String userRole(String tenant, String user) {
    return USER_ROLE_PREFIX + tenant + "." + user;
  }

  /** The only keys {@code tenant}'s AccessKeys may read and write in Nuwa: {@code /tenants/<tenant>/}. */
  public static String tenantKeyPrefix(String tenant) {
    return TENANTS_KEY_PREFIX + tenant + "/";
  }

  /**
   * The store revision up to which every change of tenants and AccessKeys is in Nuwa's users and
   * roles (0 before the first pass succeeded).
   */
  public long syncedRevision() {
    return syncedRevision;
  }

  /** How many passes in a row have failed (0 when the last one succeeded). */
  public int failuresInARow() {
    return failuresInARow;
  }

  /**
   * Waits until every change up to store revision {@code revision} is in Nuwa's users and roles.
   *
   * @return whether it is, false if {@code timeout} passed first (for example Nuwa unreachable)
   */
  public boolean awaitSynced(long revision, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    if (!view.awaitRevision(revision, timeout)) {
      return false;
    }
    // The view may have reached the revision by a progress report, which starts no pass.
    requestPass();
    synchronized (this) {
      while (syncedRevision < revision) {
        long remainingMs = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
        if (remainingMs <= 0) {
          return false;
        }
        wait(remainingMs);
      }
    }
    return true;
  }

  /** Stops the passes (one in flight is interrupted) and closes the admin channel. Idempotent. */
  @Override
  public void close() {
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
    }
    thread.shutdownNow();
    admin.close();
    try {
      thread.awaitTermination(CLOSE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  // ------------------------------------------------------------------------------------- passes

  /** Queues one pass unless one is queued already or a retry is waiting (it will see the change). */
  private void requestPass() {
    synchronized (this) {
      if (closed || passQueued || retryScheduled) {
        return;
      }
      passQueued = true;
    }
    try {
      thread.execute(this::pass);
    } catch (RejectedExecutionException e) {
      // Closed between the check above and here: no more passes is what close() wants.
    }
  }

  private void pass() {
    synchronized (this) {
      passQueued = false;
      if (closed) {
        return;
      }
    }
    boolean full = reached == null;
    try {
      IdentityView.AccessSnapshot snapshot = view.accessSnapshot();
      DesiredState desired = DesiredState.of(snapshot, region);
      logNotMapped(desired.notMapped());
      if (full) {
        fullPass(desired);
      } else {
        differencePass(reached, desired);
      }
      reached = desired;
      failuresInARow = 0;
      synchronized (this) {
        syncedRevision = Math.max(syncedRevision, snapshot.revision());
        notifyAll();
      }
      if (full) {
        LOG.atInfo().addKeyValue("revision", snapshot.revision())
            .addKeyValue("users", desired.users().size())
            .addKeyValue("roles", desired.roles().size())
            .log("Nuwa users and roles are in line with the identity store");
      }
    } catch (RuntimeException e) {
      if (isClosed()) {
        return; // the failure is our own close interrupting the call
      }
      // Whatever was half done, Nuwa's state is now unknown: the next pass looks at all of it.
      reached = null;
      int failures = failuresInARow + 1;
      failuresInARow = failures;
      long delayMs = Math.min(RETRY_BACKOFF_MAX.toMillis(),
          RETRY_BACKOFF_INITIAL.toMillis() << Math.min(failures - 1, 16));
      LOG.atWarn().addKeyValue("attempt", failures).addKeyValue("retryInMs", delayMs)
          .addKeyValue("error", e.getMessage())
          .log("bringing Nuwa's users and roles in line with the identity store failed");
      scheduleRetry(delayMs);
    }
  }

  private void scheduleRetry(long delayMs) {
    synchronized (this) {
      if (closed) {
        return;
      }
      retryScheduled = true;
    }
    try {
      thread.schedule(() -> {
        synchronized (this) {
          retryScheduled = false;
        }
        requestPass();
      }, delayMs, TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException e) {
      // Closed meanwhile, as in requestPass().
    }
  }

  private synchronized boolean isClosed() {
    return closed;
  }

  /** Looks at every managed user and role in Nuwa and corrects each. */
  private void fullPass(DesiredState desired) {
    Set<String> rolesInNuwa = new HashSet<>();
    for (String role : admin.roleList()) {
      if (isManagedRole(role)) {
        rolesInNuwa.add(role);
      }
    }
    for (Map.Entry<String, List<Permission>> role : desired.roles().entrySet()) {
      ensureRole(role.getKey(), role.getValue(), rolesInNuwa.contains(role.getKey()));
    }
    Set<String> usersInNuwa = new HashSet<>();
    for (String user : admin.userList()) {
      if (isManagedUser(user)) {
        usersInNuwa.add(user);
      }
    }
    for (String user : usersInNuwa) {
      if (!desired.users().containsKey(user)) {
        deleteUser(user);
      }
    }
    for (Map.Entry<String, DesiredUser> user : desired.users().entrySet()) {
      ensureUser(user.getKey(), user.getValue(), usersInNuwa.contains(user.getKey()));
    }
    for (String role : rolesInNuwa) {
      if (!desired.roles().containsKey(role)) {
        deleteRole(role);
      }
    }
  }

  /** Applies what changed between {@code before} (Nuwa's state, as the last pass left it) and now. */
  private void differencePass(DesiredState before, DesiredState desired) {
    for (Map.Entry<String, List<Permission>> role : desired.roles().entrySet()) {
      if (!role.getValue().equals(before.roles().get(role.getKey()))) {
        ensureRole(role.getKey(), role.getValue(), before.roles().containsKey(role.getKey()));
      }
    }
    for (String user : before.users().keySet()) {
      if (!desired.users().containsKey(user)) {
        deleteUser(user);
      }
    }
    for (Map.Entry<String, DesiredUser> user : desired.users().entrySet()) {
      DesiredUser previous = before.users().get(user.getKey());
      if (previous == null) {
        ensureUser(user.getKey(), user.getValue(), false);
      } else if (!previous.equals(user.getValue())) {
        if (!previous.secret().equals(user.getValue().secret())) {
          passwordsSet.remove(user.getKey()); // ids are never reused; a store edited by hand
        }
        ensureUser(user.getKey(), user.getValue(), true);
      }
    }
    for (String role : before.roles().keySet()) {
      if (!desired.roles().containsKey(role)) {
        deleteRole(role);
      }
    }
  }

  /** Makes {@code role} exist with exactly {@code permissions}. */
  private void ensureRole(String role, List<Permission> permissions, boolean existsInNuwa) {
    if (!existsInNuwa) {
      try {
        admin.roleAdd(role);
        LOG.atInfo().addKeyValue("role", role).log("added a tenant's Nuwa role");
      } catch (StatusRuntimeException e) {
        if (!NuwaAuthAdmin.is(e, NuwaErrors.ROLE_ALREADY_EXIST)) {
          throw e; // else another identity server added it
        }
      }
    }
    List<Permission> held = admin.rolePermissions(role).orElse(List.of());
    for (Permission existing : held) {
      if (!permissions.contains(existing)) {
        revokePermission(role, existing);
      }
    }
    for (Permission permission : permissions) {
      if (!held.contains(permission)) {
        admin.roleGrantPermission(role, permission);
      }
    }
  }

  private void revokePermission(String role, Permission permission) {
    try {
      admin.roleRevokePermission(role, permission);
    } catch (StatusRuntimeException e) {
      if (!NuwaAuthAdmin.is(e, NuwaErrors.PERMISSION_NOT_GRANTED)) {
        throw e;
      }
    }
  }

  /** Makes {@code user} exist with its secret as password and {@code wanted}'s role as only role. */
  private void ensureUser(String user, DesiredUser wanted, boolean existsInNuwa) {
    List<String> roles = List.of();
    boolean added = false;
    if (!existsInNuwa) {
      try {
        admin.userAdd(user, wanted.secret());
        passwordsSet.add(user);
        added = true;
        LOG.atInfo().addKeyValue("user", user).addKeyValue("role", wanted.role())
            .log("added an AccessKey's Nuwa user");
      } catch (StatusRuntimeException e) {
        if (!NuwaAuthAdmin.is(e, NuwaErrors.USER_ALREADY_EXIST)) {
          throw e;
        }
      }
    }
    if (!added) {
      if (!passwordsSet.contains(user)) {
        // Added by another server, a former run, or by hand: its password may be anything. Check
        // it first: a change would stale every Nuwa client's token, a check stales none.
        if (!admin.authenticates(user, wanted.secret())) {
          admin.userChangePassword(user, wanted.secret());
        }
        passwordsSet.add(user);
      }
      roles = admin.userRoles(user).orElseThrow(() -> NuwaErrors.USER_NOT_FOUND
          .augmentDescription("deleted by someone else during the pass: " + user)
          .asRuntimeException());
    }
    for (String role : roles) {
      if (!role.equals(wanted.role())) {
        try {
          admin.userRevokeRole(user, role);
        } catch (StatusRuntimeException e) {
          if (!NuwaAuthAdmin.is(e, NuwaErrors.ROLE_NOT_GRANTED)) {
            throw e;
          }
        }
      }
    }
    if (!roles.contains(wanted.role())) {
      admin.userGrantRole(user, wanted.role());
    }
  }

  private void deleteUser(String user) {
    try {
      admin.userDelete(user);
      LOG.atInfo().addKeyValue("user", user).log("deleted the Nuwa user of a gone or disabled"
          + " AccessKey");
    } catch (StatusRuntimeException e) {
      if (!NuwaAuthAdmin.is(e, NuwaErrors.USER_NOT_FOUND)) {
        throw e;
      }
    }
    passwordsSet.remove(user);
  }

  private void deleteRole(String role) {
    try {
      admin.roleDelete(role);
      LOG.atInfo().addKeyValue("role", role).log("deleted the Nuwa role of a deleted tenant");
    } catch (StatusRuntimeException e) {
      if (!NuwaAuthAdmin.is(e, NuwaErrors.ROLE_NOT_FOUND)) {
        throw e;
      }
    }
  }

  static boolean isManagedUser(String name) {
    return name.startsWith(Secrets.ACCESS_KEY_ID_PREFIX);
  }

  static boolean isManagedRole(String name) {
    return name.startsWith(TENANT_ROLE_PREFIX) || name.startsWith(USER_ROLE_PREFIX);
  }

  /** Logs, once per change, which policies Nuwa can only enforce approximately. */
  private void logNotMapped(Map<String, List<String>> notMapped) {
    for (Map.Entry<String, List<String>> role : notMapped.entrySet()) {
      if (!role.getValue().equals(notMappedLogged.get(role.getKey()))) {
        for (String problem : role.getValue()) {
          LOG.atWarn().addKeyValue("role", role.getKey()).addKeyValue("problem", problem)
              .log("a policy cannot be enforced exactly in Nuwa");
        }
      }
    }
    notMappedLogged = notMapped;
  }

  // -------------------------------------------------------------------------------- desired state

  /** A Nuwa user as it should be. {@link #toString} never shows the secret. */
  record DesiredUser(String secret, String role) {
    @Override
    public String toString() {
      return "DesiredUser[secret=<hidden>, role=" + role + "]";
    }
  }

  /**
   * The managed part of Nuwa's users and roles as the identity store says it should be.
   *
   * @param roles by role name: its permissions
   * @param users by user name (an AccessKey id)
   * @param notMapped by role name: what of its user's policies Nuwa cannot enforce exactly
   */
  record DesiredState(Map<String, List<Permission>> roles, Map<String, DesiredUser> users,
      Map<String, List<String>> notMapped) {
    static DesiredState of(IdentityView.AccessSnapshot snapshot, String region) {
      Map<String, List<Permission>> roles = new TreeMap<>();
      for (String tenant : snapshot.tenants()) {
        if (!tenant.equals(IdentityNames.SYSTEM_TENANT)) {
          roles.put(tenantRole(tenant), List.of(readWrite(tenantKeyPrefix(tenant))));
        }
      }
      Map<String, DesiredUser> users = new HashMap<>();
      Map<String, List<String>> notMapped = new HashMap<>();
      for (ResolvedAccessKey key : snapshot.accessKeys()) {
        Principal principal = key.principal();
        String id = principal.accessKeyId();
        String tenant = principal.tenantId();
        if (!key.enabled() || !isManagedUser(id) || !snapshot.tenants().contains(tenant)) {
          // Disabled: no Nuwa user. An id of another form would be a user this class does not
          // own, and a key without its tenant is a store edited by hand: neither gets access.
          continue;
        }
        String role;
        if (tenant.equals(IdentityNames.SYSTEM_TENANT)) {
          role = NUWA_ROOT_ROLE;
        } else if (principal.userName().equals(IdentityNames.ROOT_USER)) {
          role = tenantRole(tenant);
        } else {
          role = userRole(tenant, principal.userName());
          if (!roles.containsKey(role)) {
            NuwaKeyGrants.Grants grants = NuwaKeyGrants.of(tenant, region,
                snapshot.policiesByUser().getOrDefault(principal.arn(), List.of()));
            roles.put(role, grants.permissions());
            if (!grants.notMapped().isEmpty()) {
              notMapped.put(role, grants.notMapped());
            }
          }
        }
        users.put(id, new DesiredUser(key.accessKeySecret(), role));
      }
      return new DesiredState(Map.copyOf(roles), Map.copyOf(users), Map.copyOf(notMapped));
    }

    private static Permission readWrite(String prefix) {
      KeyRange range = KeyRange.prefix(prefix);
      return Permission.newBuilder().setPermType(Permission.Type.READWRITE)
          .setKey(range.key()).setRangeEnd(range.rangeEnd()).build();
    }
  }
}
