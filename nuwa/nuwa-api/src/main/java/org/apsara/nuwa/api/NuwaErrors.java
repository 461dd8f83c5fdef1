package org.apsara.nuwa.api;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;

/**
 * The gRPC statuses Nuwa answers with. Codes and messages are etcd's own (etcd's
 * {@code api/v3rpc/rpctypes}), because etcd clients match on them: etcdctl prints them,
 * jetcd and the Go client map them to typed errors, and some clients retry on specific ones.
 */
public final class NuwaErrors {
  private NuwaErrors() {}

  public static final Status EMPTY_KEY = invalid("etcdserver: key is not provided");
  public static final Status KEY_NOT_FOUND = invalid("etcdserver: key not found");
  public static final Status VALUE_PROVIDED = invalid("etcdserver: value is provided");
  public static final Status LEASE_PROVIDED = invalid("etcdserver: lease is provided");
  public static final Status TOO_MANY_OPS = invalid("etcdserver: too many operations in txn request");
  public static final Status DUPLICATE_KEY = invalid("etcdserver: duplicate key given in txn request");
  public static final Status REQUEST_TOO_LARGE = invalid("etcdserver: request is too large");
  public static final Status COMPACTED =
      Status.OUT_OF_RANGE.withDescription("etcdserver: mvcc: required revision has been compacted");
  public static final Status FUTURE_REVISION =
      Status.OUT_OF_RANGE.withDescription("etcdserver: mvcc: required revision is a future revision");
  public static final Status NO_SPACE =
      Status.RESOURCE_EXHAUSTED.withDescription("etcdserver: mvcc: database space exceeded");
  public static final Status LEASE_NOT_FOUND =
      Status.NOT_FOUND.withDescription("etcdserver: requested lease not found");
  public static final Status LEASE_EXISTS =
      Status.FAILED_PRECONDITION.withDescription("etcdserver: lease already exists");
  public static final Status LEASE_TTL_TOO_LARGE =
      Status.OUT_OF_RANGE.withDescription("etcdserver: too large lease TTL");
  public static final Status MEMBER_NOT_FOUND =
      Status.NOT_FOUND.withDescription("etcdserver: member not found");
  public static final Status NO_LEADER = Status.UNAVAILABLE.withDescription("etcdserver: no leader");
  public static final Status NOT_LEADER = Status.FAILED_PRECONDITION.withDescription("etcdserver: not leader");
  public static final Status LEADER_CHANGED =
      Status.UNAVAILABLE.withDescription("etcdserver: leader changed");
  public static final Status TIMEOUT = Status.UNAVAILABLE.withDescription("etcdserver: request timed out");
  public static final Status NOT_CAPABLE = Status.UNAVAILABLE.withDescription("etcdserver: not capable");
  public static final Status STOPPED = Status.UNAVAILABLE.withDescription("etcdserver: server stopped");
  public static final Status TOO_MANY_REQUESTS =
      Status.RESOURCE_EXHAUSTED.withDescription("etcdserver: too many requests");
  public static final Status AUTH_NOT_ENABLED =
      Status.FAILED_PRECONDITION.withDescription("etcdserver: authentication is not enabled");

  // etcd's authentication (api/v3rpc/rpctypes/error.go): clients match on these, for instance
  // re-authenticating on INVALID_AUTH_TOKEN and AUTH_OLD_REVISION.
  public static final Status ROOT_USER_NOT_EXIST =
      Status.FAILED_PRECONDITION.withDescription("etcdserver: root user does not exist");
  public static final Status ROOT_ROLE_NOT_EXIST =
      Status.FAILED_PRECONDITION.withDescription("etcdserver: root user does not have root role");
  public static final Status USER_ALREADY_EXIST =
      Status.FAILED_PRECONDITION.withDescription("etcdserver: user name already exists");
  public static final Status USER_EMPTY =
      Status.INVALID_ARGUMENT.withDescription("etcdserver: user name is empty");
  public static final Status USER_NOT_FOUND =
      Status.FAILED_PRECONDITION.withDescription("etcdserver: user name not found");
  public static final Status ROLE_ALREADY_EXIST =
      Status.FAILED_PRECONDITION.withDescription("etcdserver: role name already exists");
  public static final Status ROLE_NOT_FOUND =
      Status.FAILED_PRECONDITION.withDescription("etcdserver: role name not found");
  public static final Status ROLE_EMPTY =
      Status.INVALID_ARGUMENT.withDescription("etcdserver: role name is empty");
  public static final Status AUTH_FAILED =
      Status.INVALID_ARGUMENT
      .withDescription("etcdserver: authentication failed, invalid user ID or password");
  public static final Status PERMISSION_NOT_GIVEN =
      Status.INVALID_ARGUMENT.withDescription("etcdserver: permission not given");
  public static final Status PERMISSION_DENIED =
      Status.PERMISSION_DENIED.withDescription("etcdserver: permission denied");
  public static final Status ROLE_NOT_GRANTED =
      Status.FAILED_PRECONDITION.withDescription("etcdserver: role is not granted to the user");
  public static final Status PERMISSION_NOT_GRANTED =
      Status.FAILED_PRECONDITION
      .withDescription("etcdserver: permission is not granted to the role");
  public static final Status INVALID_AUTH_TOKEN =
      Status.UNAUTHENTICATED.withDescription("etcdserver: invalid auth token");
  public static final Status INVALID_AUTH_MGMT =
      Status.INVALID_ARGUMENT.withDescription("etcdserver: invalid auth management");
  public static final Status AUTH_OLD_REVISION =
      Status.INVALID_ARGUMENT.withDescription("etcdserver: revision of auth store is old");

  private static Status invalid(String message) {
    return Status.INVALID_ARGUMENT.withDescription(message);
  }

  /** An {@code INVALID_ARGUMENT} for a request that breaks a rule etcd has no fixed message for. */
  public static StatusRuntimeException invalidArgument(String message) {
    return Status.INVALID_ARGUMENT.withDescription("etcdserver: " + message).asRuntimeException();
  }
}
