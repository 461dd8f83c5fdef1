package org.apsara.nuwa.server.auth;

import static org.apsara.nuwa.server.auth.AuthRecords.assertStatus;
import static org.apsara.nuwa.server.auth.AuthRecords.changePassword;
import static org.apsara.nuwa.server.auth.AuthRecords.disable;
import static org.apsara.nuwa.server.auth.AuthRecords.enable;
import static org.apsara.nuwa.server.auth.AuthRecords.grant;
import static org.apsara.nuwa.server.auth.AuthRecords.grantRole;
import static org.apsara.nuwa.server.auth.AuthRecords.revoke;
import static org.apsara.nuwa.server.auth.AuthRecords.revokeRole;
import static org.apsara.nuwa.server.auth.AuthRecords.roleAdd;
import static org.apsara.nuwa.server.auth.AuthRecords.roleDelete;
import static org.apsara.nuwa.server.auth.AuthRecords.userAdd;
import static org.apsara.nuwa.server.auth.AuthRecords.userAddWithoutPassword;
import static org.apsara.nuwa.server.auth.AuthRecords.userDelete;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.AuthRoleGrantPermissionRequest;
import io.etcd.jetcd.api.Permission;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apsara.nuwa.api.NuwaErrors;
import org.apsara.nuwa.server.raft.proto.AuthRecord;
import org.apsara.nuwa.server.raft.proto.AuthStamp;
import org.junit.jupiter.api.Test;

/** Applying auth records: etcd's rules and errors, determinism, snapshots, stamps. */
class AuthStoreTest {
  private final AuthStore store = new AuthStore();

  private void apply(AuthRecord... records) {
    for (AuthRecord record : records) {
      store.apply(record);
    }
  }

  private static ByteString bs(String text) {
    return ByteString.copyFromUtf8(text);
  }

  @Test
  void enablingNeedsTheRootUserHoldingTheRootRole() {
    assertStatus(() -> store.apply(enable("key")), NuwaErrors.ROOT_USER_NOT_EXIST);
    apply(userAdd("root"));
    assertStatus(() -> store.apply(enable("key")), NuwaErrors.ROOT_ROLE_NOT_EXIST);
    // etcdctl's "auth enable" creates the role and grants it; granting alone is enough.
    apply(grantRole("root", "root"), enable("key"));
    assertThat(store.state().enabled()).isTrue();
    assertThat(store.state().tokenKey()).isEqualTo(bs("key"));
    assertThat(store.state().permissions("root").root()).isTrue();
  }

  @Test
  void everyChangeMovesTheRevisionAndNothingElseDoes() {
    long start = store.state().revision();
    assertThat(start).isEqualTo(AuthState.INITIAL_REVISION);
    apply(userAdd("root"), grantRole("root", "root"), roleAdd("r"));
    assertThat(store.state().revision()).isEqualTo(start + 3);
    // A repeated grant, a second enable and a disable while disabled change nothing.
    apply(grantRole("root", "root"), disable());
    assertThat(store.state().revision()).isEqualTo(start + 3);
    apply(enable("k1"));
    apply(enable("k2"));
    assertThat(store.state().revision()).isEqualTo(start + 4);
    assertThat(store.state().tokenKey()).isEqualTo(bs("k1"));
    // A refused change changes nothing either.
    assertStatus(() -> store.apply(userAdd("root")), NuwaErrors.USER_ALREADY_EXIST);
    assertThat(store.state().revision()).isEqualTo(start + 4);
    apply(changePassword("root", "new"), disable());
    assertThat(store.state().revision()).isEqualTo(start + 6);
    assertThat(store.state().enabled()).isFalse();
  }

  @Test
  void refusalsCarryEtcdsStatuses() {
    apply(userAdd("root"), grantRole("root", "root"), roleAdd("r"), userAdd("u"));
    assertStatus(() -> store.apply(userAdd("")), NuwaErrors.USER_EMPTY);
    assertStatus(() -> store.apply(userAdd("u")), NuwaErrors.USER_ALREADY_EXIST);
    assertStatus(() -> store.apply(userDelete("nobody")), NuwaErrors.USER_NOT_FOUND);
    assertStatus(() -> store.apply(changePassword("nobody", "x")), NuwaErrors.USER_NOT_FOUND);
    assertStatus(() -> store.apply(grantRole("nobody", "r")), NuwaErrors.USER_NOT_FOUND);
    assertStatus(() -> store.apply(grantRole("u", "missing")), NuwaErrors.ROLE_NOT_FOUND);
    assertStatus(() -> store.apply(revokeRole("u", "r")), NuwaErrors.ROLE_NOT_GRANTED);
    assertStatus(() -> store.apply(roleAdd("")), NuwaErrors.ROLE_EMPTY);
    assertStatus(() -> store.apply(roleAdd("r")), NuwaErrors.ROLE_ALREADY_EXIST);
    assertStatus(() -> store.apply(roleDelete("missing")), NuwaErrors.ROLE_NOT_FOUND);
    assertStatus(() -> store.apply(grant("missing", Permission.Type.READ, "a", "")),
        NuwaErrors.ROLE_NOT_FOUND);
    assertStatus(() -> store.apply(revoke("r", "a", "")), NuwaErrors.PERMISSION_NOT_GRANTED);
    assertStatus(() -> store.apply(AuthRecord.newBuilder().setRoleGrantPermission(
            AuthRoleGrantPermissionRequest.newBuilder().setName("r")).build()),
        NuwaErrors.PERMISSION_NOT_GIVEN);
    assertStatus(() -> store.apply(grant("r", Permission.Type.READ, "", "")),
        NuwaErrors.INVALID_AUTH_MGMT);
    assertStatus(() -> store.apply(grant("r", Permission.Type.READ, "b", "a")),
        NuwaErrors.INVALID_AUTH_MGMT);
    // With authentication enabled, root cannot be taken apart.
    apply(enable("key"));
    assertStatus(() -> store.apply(userDelete("root")), NuwaErrors.INVALID_AUTH_MGMT);
    assertStatus(() -> store.apply(revokeRole("root", "root")), NuwaErrors.INVALID_AUTH_MGMT);
    apply(roleAdd("root"));
    assertStatus(() -> store.apply(roleDelete("root")), NuwaErrors.INVALID_AUTH_MGMT);
  }

  @Test
  void permissionsFollowRolesAndTheirGrants() {
    apply(userAdd("alice"), roleAdd("t1"), grantRole("alice", "t1"));
    assertThat(store.state().permissions("alice").read().covers(bs("/t1/x"), bs(""))).isFalse();

    apply(grant("t1", Permission.Type.READWRITE, "/t1/", "/t10"));
    AuthState.UserPermissions alice = store.state().permissions("alice");
    assertThat(alice.root()).isFalse();
    assertThat(alice.read().covers(bs("/t1/x"), bs(""))).isTrue();
    assertThat(alice.write().covers(bs("/t1/"), bs("/t10"))).isTrue();
    assertThat(alice.write().covers(bs("/t2/x"), bs(""))).isFalse();

    // The same range again changes its type rather than adding a second permission.
    apply(grant("t1", Permission.Type.READ, "/t1/", "/t10"));
    assertThat(store.state().role("t1").getPermissionsCount()).isEqualTo(1);
    assertThat(store.state().permissions("alice").write().covers(bs("/t1/x"), bs(""))).isFalse();

    // Deleting the role takes it from its holders.
    apply(roleDelete("t1"));
    assertThat(store.state().user("alice").getRolesList()).isEmpty();
    assertThat(store.state().permissions("alice").read().covers(bs("/t1/x"), bs(""))).isFalse();

    apply(userDelete("alice"));
    assertThat(store.state().permissions("alice")).isNull();
  }

  @Test
  void aUserWithoutPasswordKeepsNoneWhenTheirPasswordIsChanged() {
    apply(userAddWithoutPassword("svc"), changePassword("svc", "ignored"));
    assertThat(store.state().user("svc").hasPassword()).isFalse();
    apply(userAdd("bob"), changePassword("bob", "second"));
    assertThat(store.state().user("bob").getPassword().getHash()).isEqualTo(bs("second"));
  }

  @Test
  void stampsOfAnOlderRevisionAreRefusedOnlyWhileEnabled() {
    apply(userAdd("root"), grantRole("root", "root"));
    AuthStamp old = AuthStamp.newBuilder().setRevision(store.state().revision() - 1).build();
    assertThatCode(() -> store.checkStamp(old)).doesNotThrowAnyException();

    apply(enable("key"));
    long current = store.state().revision();
    assertThatCode(() -> store.checkStamp(AuthStamp.newBuilder().setRevision(current).build()))
        .doesNotThrowAnyException();
    // Older: permissions may have been revoked since. Newer cannot happen on a member that
    // applies in log order, and is refused all the same.
    for (long revision : new long[] {current - 1, 0, current + 1}) {
      assertStatus(() -> store.checkStamp(AuthStamp.newBuilder().setRevision(revision).build()),
          NuwaErrors.AUTH_OLD_REVISION);
    }
  }

  @Test
  void leaseKeysMustAllBeWritable() {
    apply(userAdd("root"), grantRole("root", "root"), userAdd("u"), roleAdd("w"),
        grantRole("u", "w"), grant("w", Permission.Type.WRITE, "/w/", "/w0"), enable("key"));
    AuthStamp u = AuthStamp.newBuilder().setUser("u").setRevision(store.state().revision()).build();
    assertThatCode(() -> store.checkLeaseWrites(u, List.of(bs("/w/a"), bs("/w/b"))))
        .doesNotThrowAnyException();
    assertStatus(() -> store.checkLeaseWrites(u, List.of(bs("/w/a"), bs("/x"))),
        NuwaErrors.PERMISSION_DENIED);
    AuthStamp root = u.toBuilder().setUser("root").build();
    assertThatCode(() -> store.checkLeaseWrites(root, List.of(bs("/x")))).doesNotThrowAnyException();
    AuthStamp gone = u.toBuilder().setUser("gone").build();
    assertStatus(() -> store.checkLeaseWrites(gone, List.of(bs("/w/a"))),
        NuwaErrors.PERMISSION_DENIED);
  }

  /**
   * The same records give the same state, byte for byte, on every member, and a state read back
   * from a snapshot is the same state.
   */
  @Test
  void applyingIsDeterministicAndSnapshotsRoundTrip() throws IOException {
    long seed = new Random().nextLong();
    List<AuthRecord> records = randomRecords(new Random(seed), 400);
    AuthStore first = new AuthStore();
    AuthStore second = new AuthStore();
    for (AuthRecord record : records) {
      String a = applyQuietly(first, record);
      String b = applyQuietly(second, record);
      assertThat(a).as("seed %d, record %s", seed, record).isEqualTo(b);
    }
    byte[] bytes = snapshot(first);
    assertThat(snapshot(second)).as("seed %d", seed).isEqualTo(bytes);

    AuthStore restored = new AuthStore();
    restored.restore(AuthStore.readSnapshot(new DataInputStream(new ByteArrayInputStream(bytes))));
    assertThat(snapshot(restored)).as("seed %d", seed).isEqualTo(bytes);
    AuthState before = first.state();
    AuthState after = restored.state();
    assertThat(after.revision()).isEqualTo(before.revision());
    assertThat(after.enabled()).isEqualTo(before.enabled());
    for (String user : before.users().keySet()) {
      for (String key : List.of("/a", "/a/x", "/b/", "/c", "/d/e")) {
        assertThat(after.permissions(user).read().covers(bs(key), bs("")))
            .as("seed %d, %s reads %s", seed, user, key)
            .isEqualTo(before.permissions(user).read().covers(bs(key), bs("")));
      }
    }
  }

  private static String applyQuietly(AuthStore store, AuthRecord record) {
    try {
      store.apply(record);
      return "ok " + store.state().revision();
    } catch (io.grpc.StatusRuntimeException e) {
      return e.getStatus().toString();
    }
  }

  private static byte[] snapshot(AuthStore store) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    store.writeSnapshot(new DataOutputStream(bytes));
    return bytes.toByteArray();
  }

  private static List<AuthRecord> randomRecords(Random random, int count) {
    String[] users = {"root", "u1", "u2", "u3"};
    String[] roles = {"root", "r1", "r2"};
    String[] keys = {"/a", "/b/", "/c", "/d"};
    String[] ends = {"", "\0", "/z"};
    List<AuthRecord> records = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      String user = users[random.nextInt(users.length)];
      String role = roles[random.nextInt(roles.length)];
      records.add(switch (random.nextInt(10)) {
        case 0 -> userAdd(user);
        case 1 -> userDelete(user);
        case 2 -> changePassword(user, "p" + i);
        case 3 -> grantRole(user, role);
        case 4 -> revokeRole(user, role);
        case 5 -> roleAdd(role);
        case 6 -> roleDelete(role);
        case 7 -> grant(role, Permission.Type.forNumber(random.nextInt(3)),
            keys[random.nextInt(keys.length)], ends[random.nextInt(ends.length)]);
        case 8 -> revoke(role, keys[random.nextInt(keys.length)], ends[random.nextInt(ends.length)]);
        default -> random.nextBoolean() ? enable("key" + i) : disable();
      });
    }
    return records;
  }
}
