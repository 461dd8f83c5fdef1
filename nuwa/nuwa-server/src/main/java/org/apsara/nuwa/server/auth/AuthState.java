package org.apsara.nuwa.server.auth;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.Permission;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;
import org.apsara.nuwa.server.auth.proto.AuthRole;
import org.apsara.nuwa.server.auth.proto.AuthSnapshot;
import org.apsara.nuwa.server.auth.proto.AuthUser;

/**
 * One version of the replicated authentication state: whether authentication is enabled, the
 * auth revision, the token key, users and roles, and, derived from them, each user's merged
 * permissions. Immutable: the apply thread publishes a new state for every change, and request
 * handlers on any thread read whichever state they picked up, consistently.
 */
public final class AuthState {
  /** etcd's superuser and its role: a user with the root role may do everything. */
  public static final String ROOT = "root";
  /** The auth revision of a fresh cluster (etcd starts at 1 too); every change adds one. */
  public static final long INITIAL_REVISION = 1;

  static final AuthState INITIAL = new AuthState(false, INITIAL_REVISION, ByteString.EMPTY,
      Collections.emptyNavigableMap(), Collections.emptyNavigableMap(), Map.of());

  /** A fresh cluster's state: authentication disabled, no users, no roles. */
  public static AuthState initial() {
    return INITIAL;
  }

  /** What one user may do, merged over all its roles. */
  public record UserPermissions(boolean root, KeyIntervals read, KeyIntervals write) {}

  private final boolean enabled;
  private final long revision;
  private final ByteString tokenKey;
  private final NavigableMap<String, AuthUser> users;
  private final NavigableMap<String, AuthRole> roles;
  private final Map<String, UserPermissions> permissions;

  private AuthState(boolean enabled, long revision, ByteString tokenKey,
      NavigableMap<String, AuthUser> users, NavigableMap<String, AuthRole> roles,
      Map<String, UserPermissions> permissions) {
    this.enabled = enabled;
    this.revision = revision;
    this.tokenKey = tokenKey;
    this.users = users;
    this.roles = roles;
    this.permissions = permissions;
  }

  public boolean enabled() {
    return enabled;
  }

  public long revision() {
    return revision;
  }

  ByteString tokenKey() {
    return tokenKey;
  }

  public AuthUser user(String name) {
    return users.get(name);
  }

  public AuthRole role(String name) {
    return roles.get(name);
  }

  /** Users by name, in name order. */
  public NavigableMap<String, AuthUser> users() {
    return users;
  }

  /** Roles by name, in name order. */
  public NavigableMap<String, AuthRole> roles() {
    return roles;
  }

  /** The user's merged permissions, or null if there is no such user. */
  public UserPermissions permissions(String user) {
    return permissions.get(user);
  }

  // ---------------------------------------------------------------- new versions (apply thread)

  /**
   * A new version, one revision on. {@code users} and {@code roles} are taken over, not copied;
   * the merged permissions are recomputed for the users named in {@code changedUsers} (those whose
   * roles, or whose roles' permissions, changed) and kept for everyone else.
   */
  AuthState with(boolean enabled, ByteString tokenKey, TreeMap<String, AuthUser> users,
      TreeMap<String, AuthRole> roles, Collection<String> changedUsers) {
    Map<String, UserPermissions> derived = new HashMap<>(permissions);
    for (String name : changedUsers) {
      AuthUser user = users.get(name);
      if (user == null) {
        derived.remove(name);
      } else {
        derived.put(name, merge(user, roles));
      }
    }
    return new AuthState(enabled, revision + 1, tokenKey,
        Collections.unmodifiableNavigableMap(users), Collections.unmodifiableNavigableMap(roles),
        Collections.unmodifiableMap(derived));
  }

  TreeMap<String, AuthUser> copyUsers() {
    return new TreeMap<>(users);
  }

  TreeMap<String, AuthRole> copyRoles() {
    return new TreeMap<>(roles);
  }

  /** Names of the users that hold {@code role}. */
  List<String> holdersOf(String role) {
    List<String> holders = new ArrayList<>();
    for (AuthUser user : users.values()) {
      if (user.getRolesList().contains(role)) {
        holders.add(user.getName());
      }
    }
    return holders;
  }

  static UserPermissions merge(AuthUser user, Map<String, AuthRole> roles) {
    List<KeyIntervals.Interval> read = new ArrayList<>();
    List<KeyIntervals.Interval> write = new ArrayList<>();
    boolean root = false;
    for (String roleName : user.getRolesList()) {
      root |= ROOT.equals(roleName);
      AuthRole role = roles.get(roleName);
      if (role == null) {
        continue;
      }
      for (Permission permission : role.getPermissionsList()) {
        KeyIntervals.Interval interval =
            KeyIntervals.Interval.of(permission.getKey(), permission.getRangeEnd());
        switch (permission.getPermType()) {
          case READ -> read.add(interval);
          case WRITE -> write.add(interval);
          case READWRITE -> {
            read.add(interval);
            write.add(interval);
          }
          default -> { }
        }
      }
    }
    return new UserPermissions(root, KeyIntervals.union(read), KeyIntervals.union(write));
  }

  // ---------------------------------------------------------------- snapshots

  AuthSnapshot toSnapshot() {
    return AuthSnapshot.newBuilder()
        .setEnabled(enabled)
        .setRevision(revision)
        .setTokenKey(tokenKey)
        .addAllUsers(users.values())
        .addAllRoles(roles.values())
        .build();
  }

  static AuthState fromSnapshot(AuthSnapshot snapshot) {
    TreeMap<String, AuthUser> users = new TreeMap<>();
    snapshot.getUsersList().forEach(user -> users.put(user.getName(), user));
    TreeMap<String, AuthRole> roles = new TreeMap<>();
    snapshot.getRolesList().forEach(role -> roles.put(role.getName(), role));
    return new AuthState(snapshot.getEnabled(), snapshot.getRevision(), snapshot.getTokenKey(),
        Collections.unmodifiableNavigableMap(users), Collections.unmodifiableNavigableMap(roles),
        derivePermissions(users, roles));
  }

  private static Map<String, UserPermissions> derivePermissions(Map<String, AuthUser> users,
      Map<String, AuthRole> roles) {
    Map<String, UserPermissions> derived = new HashMap<>();
    for (AuthUser user : users.values()) {
      derived.put(user.getName(), merge(user, roles));
    }
    return Collections.unmodifiableMap(derived);
  }
}
