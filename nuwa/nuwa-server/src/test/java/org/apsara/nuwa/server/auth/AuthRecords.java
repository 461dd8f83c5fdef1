package org.apsara.nuwa.server.auth;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.AuthDisableRequest;
import io.etcd.jetcd.api.AuthRoleAddRequest;
import io.etcd.jetcd.api.AuthRoleDeleteRequest;
import io.etcd.jetcd.api.AuthRoleGrantPermissionRequest;
import io.etcd.jetcd.api.AuthRoleRevokePermissionRequest;
import io.etcd.jetcd.api.AuthUserDeleteRequest;
import io.etcd.jetcd.api.AuthUserGrantRoleRequest;
import io.etcd.jetcd.api.AuthUserRevokeRoleRequest;
import io.etcd.jetcd.api.Permission;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.apsara.nuwa.server.auth.proto.PasswordHash;
import org.apsara.nuwa.server.raft.proto.AuthEnable;
import org.apsara.nuwa.server.raft.proto.AuthRecord;
import org.apsara.nuwa.server.raft.proto.UserAdd;
import org.apsara.nuwa.server.raft.proto.UserChangePassword;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;

/** Auth log records and assertions for tests. */
public final class AuthRecords {
  private AuthRecords() {}

  /** A stand-in for a hashed password: applying never looks inside one. */
  public static PasswordHash hash(String tag) {
    return PasswordHash.newBuilder().setAlgorithm(PasswordHasher.ALGORITHM).setIterations(1)
        .setSalt(ByteString.copyFromUtf8("salt-" + tag)).setHash(ByteString.copyFromUtf8(tag))
        .build();
  }

  public static AuthRecord enable(String key) {
    return AuthRecord.newBuilder()
        .setEnable(AuthEnable.newBuilder().setTokenKey(ByteString.copyFromUtf8(key))).build();
  }

  public static AuthRecord disable() {
    return AuthRecord.newBuilder().setDisable(AuthDisableRequest.getDefaultInstance()).build();
  }

  public static AuthRecord userAdd(String name) {
    return AuthRecord.newBuilder().setUserAdd(
        UserAdd.newBuilder().setName(name).setPassword(hash(name + "-password"))).build();
  }

  public static AuthRecord userAddWithoutPassword(String name) {
    return AuthRecord.newBuilder().setUserAdd(
        UserAdd.newBuilder().setName(name).setNoPassword(true)).build();
  }

  public static AuthRecord userDelete(String name) {
    return AuthRecord.newBuilder()
        .setUserDelete(AuthUserDeleteRequest.newBuilder().setName(name)).build();
  }

  public static AuthRecord changePassword(String name, String tag) {
    return AuthRecord.newBuilder().setUserChangePassword(
        UserChangePassword.newBuilder().setName(name).setPassword(hash(tag))).build();
  }

  public static AuthRecord grantRole(String user, String role) {
    return AuthRecord.newBuilder().setUserGrantRole(
        AuthUserGrantRoleRequest.newBuilder().setUser(user).setRole(role)).build();
  }

  public static AuthRecord revokeRole(String user, String role) {
    return AuthRecord.newBuilder().setUserRevokeRole(
        AuthUserRevokeRoleRequest.newBuilder().setName(user).setRole(role)).build();
  }

  public static AuthRecord roleAdd(String name) {
    return AuthRecord.newBuilder().setRoleAdd(AuthRoleAddRequest.newBuilder().setName(name))
        .build();
  }

  public static AuthRecord roleDelete(String name) {
    return AuthRecord.newBuilder().setRoleDelete(AuthRoleDeleteRequest.newBuilder().setRole(name))
        .build();
  }

  public static AuthRecord grant(String role, Permission.Type type, String key, String end) {
    return AuthRecord.newBuilder().setRoleGrantPermission(AuthRoleGrantPermissionRequest
        .newBuilder().setName(role).setPerm(Permission.newBuilder().setPermType(type)
            .setKey(ByteString.copyFromUtf8(key)).setRangeEnd(ByteString.copyFromUtf8(end))))
        .build();
  }

  public static AuthRecord revoke(String role, String key, String end) {
    return AuthRecord.newBuilder().setRoleRevokePermission(AuthRoleRevokePermissionRequest
        .newBuilder().setRole(role).setKey(ByteString.copyFromUtf8(key))
        .setRangeEnd(ByteString.copyFromUtf8(end))).build();
  }

  /** Asserts that the call fails with exactly this status code and message. */
  public static void assertStatus(ThrowingCallable call, Status expected) {
    assertThatThrownBy(call)
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          org.assertj.core.api.Assertions.assertThat(e.getStatus().getCode())
              .isEqualTo(expected.getCode());
          org.assertj.core.api.Assertions.assertThat(e.getStatus().getDescription())
              .isEqualTo(expected.getDescription());
        });
  }
}
