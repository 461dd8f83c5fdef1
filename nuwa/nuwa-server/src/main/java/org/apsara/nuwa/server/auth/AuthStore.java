package org.apsara.nuwa.server.auth;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.AuthRoleGrantPermissionRequest;
import io.etcd.jetcd.api.AuthRoleRevokePermissionRequest;
import io.etcd.jetcd.api.AuthUserGrantRoleRequest;
import io.etcd.jetcd.api.AuthUserRevokeRoleRequest;
import io.etcd.jetcd.api.Permission;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.TreeMap;
import org.apsara.nuwa.api.NuwaErrors;
import org.apsara.nuwa.server.auth.proto.AuthRole;
import org.apsara.nuwa.server.auth.proto.AuthSnapshot;
import org.apsara.nuwa.server.auth.proto.AuthUser;
import org.apsara.nuwa.server.raft.proto.AuthEnable;
import org.apsara.nuwa.server.raft.proto.AuthRecord;
import org.apsara.nuwa.server.raft.proto.AuthStamp;
import org.apsara.nuwa.server.raft.proto.UserAdd;
import org.apsara.nuwa.server.raft.proto.UserChangePassword;

/**
 * The replicated authentication state and the rules for changing it, as etcd's auth store has
 * them: {@link #apply} is called on the Raft apply thread with each {@link AuthRecord} in log
 * order and either publishes a new {@link AuthState} (one auth revision on) or throws the status
 * etcd answers with and changes nothing. Applying is deterministic and cheap: passwords arrive
 * hashed and the token key arrives chosen.
 *
 * <p>{@link #state} may be read from any thread at any time.
 */
public final class AuthStore {
  /** Users at most. */
  public static final int USERS_MAX = 10_000;
  /** Roles at most. */
  public static final int ROLES_MAX = 10_000;
  /** Roles one user may hold at most. */
  public static final int ROLES_PER_USER_MAX = 32;
  /**
   * Permissions one role may hold at most. With {@link #ROLES_PER_USER_MAX} this bounds the work
   * of merging one user's permissions (8,192 intervals), which every change of its roles redoes.
   */
  public static final int PERMISSIONS_PER_ROLE_MAX = 256;
  /** Longest user or role name, in bytes of UTF-8: names travel in every token. */
  public static final int NAME_BYTES_MAX = 256;
  /** Largest auth state a snapshot may hold, so a corrupt length cannot exhaust the heap. */
  private static final int SNAPSHOT_BYTES_MAX = 256 << 20;
  private static final ByteString FROM_KEY = ByteString.copyFrom(new byte[] {0});
  private static final Comparator<Permission> PERMISSION_ORDER =
      Comparator.comparing(Permission::getKey, KeyIntervals.KEY_ORDER)
          .thenComparing(Permission::getRangeEnd, KeyIntervals.KEY_ORDER);

  private volatile AuthState state = AuthState.INITIAL;

  /** The current state; any thread. */
  public AuthState state() {
    return state;
  }

  // ---------------------------------------------------------------- checks at apply time

  /**
   * Refuses a client's record whose permissions were checked against an auth revision other than
   * the current one while authentication is enabled: the check it passed may no longer hold.
   */
  public void checkStamp(AuthStamp stamp) {
    AuthState current = state;
    if (current.enabled() && stamp.getRevision() != current.revision()) {
      throw NuwaErrors.AUTH_OLD_REVISION.asRuntimeException();
    }
  }

  /**
   * Refuses a record that revokes a lease, or attaches a key to it, unless the stamped user may
   * write every key the lease holds (as etcd checks at apply time: the keys may have changed since
   * the request was checked).
   */
  public void checkLeaseWrites(AuthStamp stamp, Collection<ByteString> leaseKeys) {
    AuthState current = state;
    if (!current.enabled() || leaseKeys.isEmpty()) {
      return;
    }
    AuthState.UserPermissions permissions = current.permissions(stamp.getUser());
    if (permissions == null) {
      throw NuwaErrors.PERMISSION_DENIED.asRuntimeException();
    }
    if (permissions.root()) {
      return;
    }
    for (ByteString key : leaseKeys) {
      if (!permissions.write().covers(key, ByteString.EMPTY)) {
        throw NuwaErrors.PERMISSION_DENIED.asRuntimeException();
      }
    }
  }

  // ---------------------------------------------------------------- applying records

  /** Applies one record; see the class comment. Apply thread only. */
  public void apply(AuthRecord record) {
    switch (record.getOpCase()) {
      case ENABLE -> enable(record.getEnable());
      case DISABLE -> disable();
      case USER_ADD -> userAdd(record.getUserAdd());
      case USER_DELETE -> userDelete(record.getUserDelete().getName());
      case USER_CHANGE_PASSWORD -> userChangePassword(record.getUserChangePassword());
      case USER_GRANT_ROLE -> userGrantRole(record.getUserGrantRole());
      case USER_REVOKE_ROLE -> userRevokeRole(record.getUserRevokeRole());
      case ROLE_ADD -> roleAdd(record.getRoleAdd().getName());
      case ROLE_DELETE -> roleDelete(record.getRoleDelete().getRole());
      case ROLE_GRANT_PERMISSION -> roleGrantPermission(record.getRoleGrantPermission());
      case ROLE_REVOKE_PERMISSION -> roleRevokePermission(record.getRoleRevokePermission());
      default -> throw Status.INTERNAL.withDescription("unknown auth record " + record.getOpCase())
          .asRuntimeException();
    }
  }

  private void enable(AuthEnable request) {
    AuthState s = state;
    if (s.enabled()) {
      return; // etcd ignores enabling twice
    }
    AuthUser root = s.user(AuthState.ROOT);
    if (root == null) {
      throw NuwaErrors.ROOT_USER_NOT_EXIST.asRuntimeException();
    }
    if (!root.getRolesList().contains(AuthState.ROOT)) {
      throw NuwaErrors.ROOT_ROLE_NOT_EXIST.asRuntimeException();
    }
    if (request.getTokenKey().isEmpty()) {
      throw NuwaErrors.invalidArgument("auth enable without a token key");
    }
    state = s.with(true, request.getTokenKey(), s.copyUsers(), s.copyRoles(), List.of());
  }

  private void disable() {
    AuthState s = state;
    if (!s.enabled()) {
      return;
    }
    state = s.with(false, s.tokenKey(), s.copyUsers(), s.copyRoles(), List.of());
  }

  private void userAdd(UserAdd request) {
    AuthState s = state;
    checkName(request.getName(), NuwaErrors.USER_EMPTY);
    if (s.user(request.getName()) != null) {
      throw NuwaErrors.USER_ALREADY_EXIST.asRuntimeException();
    }
    if (s.users().size() >= USERS_MAX) {
      throw tooMany("users", USERS_MAX);
    }
    AuthUser.Builder user = AuthUser.newBuilder().setName(request.getName());
    if (!request.getNoPassword()) {
      if (!request.hasPassword()) {
        throw NuwaErrors.invalidArgument("user add without a password hash");
      }
      user.setPassword(request.getPassword());
    }
    TreeMap<String, AuthUser> users = s.copyUsers();
    users.put(request.getName(), user.build());
    state = s.with(s.enabled(), s.tokenKey(), users, s.copyRoles(), List.of(request.getName()));
  }

  private void userDelete(String name) {
    AuthState s = state;
    if (s.enabled() && AuthState.ROOT.equals(name)) {
      throw NuwaErrors.INVALID_AUTH_MGMT.asRuntimeException();
    }
    if (s.user(name) == null) {
      throw NuwaErrors.USER_NOT_FOUND.asRuntimeException();
    }
    TreeMap<String, AuthUser> users = s.copyUsers();
    users.remove(name);
    state = s.with(s.enabled(), s.tokenKey(), users, s.copyRoles(), List.of(name));
  }

  private void userChangePassword(UserChangePassword request) {
    AuthState s = state;
    AuthUser user = s.user(request.getName());
    if (user == null) {
      throw NuwaErrors.USER_NOT_FOUND.asRuntimeException();
    }
    TreeMap<String, AuthUser> users = s.copyUsers();
    // A user created without password keeps none, as in etcd; the revision still moves on, so
    // its tokens must be renewed like everyone's.
    if (user.hasPassword()) {
      if (!request.hasPassword()) {
        throw NuwaErrors.invalidArgument("password change without a password hash");
      }
      users.put(user.getName(), user.toBuilder().setPassword(request.getPassword()).build());
    }
    state = s.with(s.enabled(), s.tokenKey(), users, s.copyRoles(), List.of());
  }

  private void userGrantRole(AuthUserGrantRoleRequest request) {
    AuthState s = state;
    AuthUser user = s.user(request.getUser());
    if (user == null) {
      throw NuwaErrors.USER_NOT_FOUND.asRuntimeException();
    }
    // etcd lets the root role be granted before it exists: "auth enable" only needs the grant.
    if (!AuthState.ROOT.equals(request.getRole()) && s.role(request.getRole()) == null) {
      throw NuwaErrors.ROLE_NOT_FOUND.asRuntimeException();
    }
    if (user.getRolesList().contains(request.getRole())) {
      return; // etcd ignores a repeated grant
    }
    if (user.getRolesCount() >= ROLES_PER_USER_MAX) {
      throw tooMany("roles for one user", ROLES_PER_USER_MAX);
    }
    List<String> roles = new ArrayList<>(user.getRolesList());
    roles.add(request.getRole());
    roles.sort(null);
    TreeMap<String, AuthUser> users = s.copyUsers();
    users.put(user.getName(), user.toBuilder().clearRoles().addAllRoles(roles).build());
    state = s.with(s.enabled(), s.tokenKey(), users, s.copyRoles(), List.of(user.getName()));
  }

  private void userRevokeRole(AuthUserRevokeRoleRequest request) {
    AuthState s = state;
    if (s.enabled() && AuthState.ROOT.equals(request.getName())
        && AuthState.ROOT.equals(request.getRole())) {
      throw NuwaErrors.INVALID_AUTH_MGMT.asRuntimeException();
    }
    AuthUser user = s.user(request.getName());
    if (user == null) {
      throw NuwaErrors.USER_NOT_FOUND.asRuntimeException();
    }
    List<String> roles = new ArrayList<>(user.getRolesList());
    if (!roles.remove(request.getRole())) {
      throw NuwaErrors.ROLE_NOT_GRANTED.asRuntimeException();
    }
    TreeMap<String, AuthUser> users = s.copyUsers();
    users.put(user.getName(), user.toBuilder().clearRoles().addAllRoles(roles).build());
    state = s.with(s.enabled(), s.tokenKey(), users, s.copyRoles(), List.of(user.getName()));
  }

  private void roleAdd(String name) {
    AuthState s = state;
    checkName(name, NuwaErrors.ROLE_EMPTY);
    if (s.role(name) != null) {
      throw NuwaErrors.ROLE_ALREADY_EXIST.asRuntimeException();
    }
    if (s.roles().size() >= ROLES_MAX) {
      throw tooMany("roles", ROLES_MAX);
    }
    TreeMap<String, AuthRole> roles = s.copyRoles();
    roles.put(name, AuthRole.newBuilder().setName(name).build());
    // Only the root role can be held before it exists; its holders may do everything anyway.
    state = s.with(s.enabled(), s.tokenKey(), s.copyUsers(), roles, s.holdersOf(name));
  }

  private void roleDelete(String name) {
    AuthState s = state;
    if (s.enabled() && AuthState.ROOT.equals(name)) {
      throw NuwaErrors.INVALID_AUTH_MGMT.asRuntimeException();
    }
    if (s.role(name) == null) {
      throw NuwaErrors.ROLE_NOT_FOUND.asRuntimeException();
    }
    TreeMap<String, AuthRole> roles = s.copyRoles();
    roles.remove(name);
    List<String> holders = s.holdersOf(name);
    TreeMap<String, AuthUser> users = s.copyUsers();
    for (String holder : holders) {
      AuthUser user = users.get(holder);
      List<String> kept = new ArrayList<>(user.getRolesList());
      kept.remove(name);
      users.put(holder, user.toBuilder().clearRoles().addAllRoles(kept).build());
    }
    state = s.with(s.enabled(), s.tokenKey(), users, roles, holders);
  }

  private void roleGrantPermission(AuthRoleGrantPermissionRequest request) {
    AuthState s = state;
    if (!request.hasPerm()) {
      throw NuwaErrors.PERMISSION_NOT_GIVEN.asRuntimeException();
    }
    Permission granted = request.getPerm();
    if (!isValidPermissionRange(granted.getKey(), granted.getRangeEnd())) {
      throw NuwaErrors.INVALID_AUTH_MGMT.asRuntimeException();
    }
    AuthRole role = s.role(request.getName());
    if (role == null) {
      throw NuwaErrors.ROLE_NOT_FOUND.asRuntimeException();
    }
    List<Permission> permissions = new ArrayList<>(role.getPermissionsList());
    boolean updated = false;
    for (int i = 0; i < permissions.size(); i++) {
      Permission existing = permissions.get(i);
      if (existing.getKey().equals(granted.getKey())
          && existing.getRangeEnd().equals(granted.getRangeEnd())) {
        // The same range again changes its type, as etcd does.
        permissions.set(i, existing.toBuilder().setPermType(granted.getPermType()).build());
        updated = true;
      }
    }
    if (!updated) {
      if (permissions.size() >= PERMISSIONS_PER_ROLE_MAX) {
        throw tooMany("permissions for one role", PERMISSIONS_PER_ROLE_MAX);
      }
      permissions.add(Permission.newBuilder().setPermType(granted.getPermType())
          .setKey(granted.getKey()).setRangeEnd(granted.getRangeEnd()).build());
      permissions.sort(PERMISSION_ORDER);
    }
    putRole(s, role.toBuilder().clearPermissions().addAllPermissions(permissions).build());
  }

  private void roleRevokePermission(AuthRoleRevokePermissionRequest request) {
    AuthState s = state;
    AuthRole role = s.role(request.getRole());
    if (role == null) {
      throw NuwaErrors.ROLE_NOT_FOUND.asRuntimeException();
    }
    List<Permission> kept = new ArrayList<>();
    for (Permission permission : role.getPermissionsList()) {
      if (!permission.getKey().equals(request.getKey())
          || !permission.getRangeEnd().equals(request.getRangeEnd())) {
        kept.add(permission);
      }
    }
    if (kept.size() == role.getPermissionsCount()) {
      throw NuwaErrors.PERMISSION_NOT_GRANTED.asRuntimeException();
    }
    putRole(s, role.toBuilder().clearPermissions().addAllPermissions(kept).build());
  }

  private void putRole(AuthState s, AuthRole role) {
    TreeMap<String, AuthRole> roles = s.copyRoles();
    roles.put(role.getName(), role);
    state = s.with(s.enabled(), s.tokenKey(), s.copyUsers(), roles, s.holdersOf(role.getName()));
  }

  /**
   * etcd's rule for a permission's range: a non-empty key, and an end that is empty (one key),
   * {@code "\0"} (every key from the start on) or after the key.
   */
  static boolean isValidPermissionRange(ByteString key, ByteString rangeEnd) {
    if (key.isEmpty()) {
      return false;
    }
    return rangeEnd.isEmpty() || rangeEnd.equals(FROM_KEY)
        || KeyIntervals.KEY_ORDER.compare(key, rangeEnd) < 0;
  }

  private static void checkName(String name, Status empty) {
    if (name.isEmpty()) {
      throw empty.asRuntimeException();
    }
    if (name.getBytes(StandardCharsets.UTF_8).length > NAME_BYTES_MAX) {
      throw NuwaErrors.invalidArgument("name longer than " + NAME_BYTES_MAX + " bytes");
    }
  }

  private static StatusRuntimeException tooMany(String what, int limit) {
    return Status.RESOURCE_EXHAUSTED
        .withDescription("etcdserver: too many " + what + " (limit " + limit + ")")
        .asRuntimeException();
  }

  // ---------------------------------------------------------------- snapshots (apply thread)

  /** Writes the state, length-prefixed; the same state always gives the same bytes. */
  public void writeSnapshot(DataOutputStream out) throws IOException {
    byte[] bytes = state.toSnapshot().toByteArray();
    out.writeInt(bytes.length);
    out.write(bytes);
  }

  /** Reads a state written by {@link #writeSnapshot}, consuming exactly its bytes. */
  public static AuthState readSnapshot(DataInputStream in) throws IOException {
    int length = in.readInt();
    if (length < 0 || length > SNAPSHOT_BYTES_MAX) {
      throw new IOException("corrupt auth state length in snapshot: " + length);
    }
    byte[] bytes = new byte[length];
    in.readFully(bytes);
    return AuthState.fromSnapshot(AuthSnapshot.parseFrom(bytes));
  }

  /** Replaces the state, when a snapshot is loaded. */
  public void restore(AuthState restored) {
    state = restored;
  }
}
