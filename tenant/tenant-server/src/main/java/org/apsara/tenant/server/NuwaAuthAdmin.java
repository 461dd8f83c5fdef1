package org.apsara.tenant.server;

import io.etcd.jetcd.api.AuthGrpc;
import io.etcd.jetcd.api.AuthRoleAddRequest;
import io.etcd.jetcd.api.AuthRoleDeleteRequest;
import io.etcd.jetcd.api.AuthRoleGetRequest;
import io.etcd.jetcd.api.AuthRoleGrantPermissionRequest;
import io.etcd.jetcd.api.AuthRoleListRequest;
import io.etcd.jetcd.api.AuthRoleRevokePermissionRequest;
import io.etcd.jetcd.api.AuthUserAddRequest;
import io.etcd.jetcd.api.AuthUserChangePasswordRequest;
import io.etcd.jetcd.api.AuthUserDeleteRequest;
import io.etcd.jetcd.api.AuthUserGetRequest;
import io.etcd.jetcd.api.AuthUserGrantRoleRequest;
import io.etcd.jetcd.api.AuthUserListRequest;
import io.etcd.jetcd.api.AuthUserRevokeRoleRequest;
import io.etcd.jetcd.api.AuthenticateRequest;
import io.etcd.jetcd.api.Permission;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.stub.MetadataUtils;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.apsara.nuwa.api.NuwaErrors;
import org.apsara.security.tls.TlsContexts;
import org.apsara.security.tls.TlsMaterial;

/**
 * Nuwa's (etcd's) Auth service as an administrator uses it: users, roles and permissions, over a
 * gRPC channel of its own, authenticated as one user (the root user in practice, since every
 * change needs the root role). nuwa-client has no such API; this is the little that {@link
 * NuwaAuthSync} needs.
 *
 * <p>Tokens: obtained with {@code Authenticate} on first use and sent in the {@code token}
 * header; a call refused for its token ({@code invalid auth token}, or {@code revision of auth
 * store is old}, which Nuwa answers after changes to the users or roles the token's user holds)
 * authenticates again and is sent again, at most {@link #TOKEN_ATTEMPTS_MAX} times in all. Such a
 * refusal comes before the request is applied, so sending it again is safe.
 *
 * <p>Endpoints: one channel at a time, to one endpoint; a call that finds it unavailable moves to
 * the next endpoint for the following call and fails (the caller retries).
 *
 * <p>Failures are the server's {@link StatusRuntimeException}s, with etcd's messages (see {@link
 * NuwaErrors}); {@link #is} tells them apart. Thread-safe: calls are serialized.
 */
final class NuwaAuthAdmin implements AutoCloseable {
  /** Deadline of each call; password hashing on the server makes some take tens of ms. */
  static final Duration CALL_TIMEOUT = Duration.ofSeconds(10);
  /** How often one call is sent with a fresh token before its failure is reported. */
  static final int TOKEN_ATTEMPTS_MAX = 3;

  private static final Metadata.Key<String> TOKEN_HEADER =
      Metadata.Key.of("token", Metadata.ASCII_STRING_MARSHALLER);

  private final List<String> endpoints;
  private final AuthenticateRequest login;
  /** TLS to Nuwa, or null for plaintext. */
  private final SslContext sslContext;

  // Guarded by this.
  private int endpointIndex;
  /** Null: authenticate before the next call. Empty: Nuwa has authentication off, send none. */
  private String token;
  // Written under this; read by close() without it, so that closing never waits for a call.
  private volatile ManagedChannel channel;
  private volatile boolean closed;

  NuwaAuthAdmin(List<String> endpoints, String user, String password) {
    this(endpoints, user, password, null);
  }

  /**
   * An admin talking TLS to Nuwa when {@code tls} is given (the cluster CA to verify members
   * with, and the certificate to present where Nuwa asks for one), plaintext when it is null.
   *
   * @throws UncheckedIOException if a TLS file cannot be read
   */
  NuwaAuthAdmin(List<String> endpoints, String user, String password, TlsMaterial tls) {
    try {
      this.sslContext = tls == null ? null : TlsContexts.forClient(tls);
    } catch (IOException e) {
      throw new UncheckedIOException(e.getMessage(), e);
    }
    this.endpoints = List.copyOf(endpoints);
    if (this.endpoints.isEmpty()) {
      throw new IllegalArgumentException("at least one Nuwa endpoint is required");
    }
    this.login = AuthenticateRequest.newBuilder()
        .setName(Objects.requireNonNull(user, "user"))
        .setPassword(Objects.requireNonNull(password, "password"))
        .build();
  }

  /** Whether {@code failure} is the etcd error {@code expected} (same code and message). */
  static boolean is(StatusRuntimeException failure, Status expected) {
    Status actual = failure.getStatus();
    return actual.getCode() == expected.getCode()
        && Objects.equals(actual.getDescription(), expected.getDescription());
  }

  List<String> userList() {
    return call(auth -> auth.userList(AuthUserListRequest.getDefaultInstance()).getUsersList());
  }

  List<String> roleList() {
    return call(auth -> auth.roleList(AuthRoleListRequest.getDefaultInstance()).getRolesList());
  }

  /** The roles of {@code user}, or empty if there is no such user. */
  Optional<List<String>> userRoles(String user) {
    try {
      return Optional.of(List.copyOf(call(auth -> auth.userGet(
          AuthUserGetRequest.newBuilder().setName(user).build()).getRolesList())));
    } catch (StatusRuntimeException e) {
      if (is(e, NuwaErrors.USER_NOT_FOUND)) {
        return Optional.empty();
      }
      throw e;
    }
  }

  /** The permissions of {@code role}, or empty if there is no such role. */
  Optional<List<Permission>> rolePermissions(String role) {
    try {
      return Optional.of(call(auth -> auth.roleGet(
          AuthRoleGetRequest.newBuilder().setRole(role).build()).getPermList()));
    } catch (StatusRuntimeException e) {
      if (is(e, NuwaErrors.ROLE_NOT_FOUND)) {
        return Optional.empty();
      }
      throw e;
    }
  }

  void roleAdd(String role) {
    call(auth -> auth.roleAdd(AuthRoleAddRequest.newBuilder().setName(role).build()));
  }

  void roleDelete(String role) {
    call(auth -> auth.roleDelete(AuthRoleDeleteRequest.newBuilder().setRole(role).build()));
  }

  void roleGrantPermission(String role, Permission permission) {
    call(auth -> auth.roleGrantPermission(AuthRoleGrantPermissionRequest.newBuilder()
        .setName(role).setPerm(permission).build()));
  }

  void roleRevokePermission(String role, Permission permission) {
    call(auth -> auth.roleRevokePermission(AuthRoleRevokePermissionRequest.newBuilder()
        .setRole(role).setKey(permission.getKey()).setRangeEnd(permission.getRangeEnd()).build()));
  }

  void userAdd(String user, String password) {
    call(auth -> auth.userAdd(
        AuthUserAddRequest.newBuilder().setName(user).setPassword(password).build()));
  }

  void userDelete(String user) {
    call(auth -> auth.userDelete(AuthUserDeleteRequest.newBuilder().setName(user).build()));
  }

  void userChangePassword(String user, String password) {
    call(auth -> auth.userChangePassword(
        AuthUserChangePasswordRequest.newBuilder().setName(user).setPassword(password).build()));
  }

  void userGrantRole(String user, String role) {
    call(auth -> auth.userGrantRole(
        AuthUserGrantRoleRequest.newBuilder().setUser(user).setRole(role).build()));
  }

  void userRevokeRole(String user, String role) {
    call(auth -> auth.userRevokeRole(
        AuthUserRevokeRoleRequest.newBuilder().setName(user).setRole(role).build()));
  }

  private synchronized <T> T call(Function<AuthGrpc.AuthBlockingStub, T> rpc) {
    if (closed) {
      throw Status.CANCELLED.withDescription("the Nuwa auth admin is closed").asRuntimeException();
    }
    StatusRuntimeException last = null;
    for (int attempt = 0; attempt < TOKEN_ATTEMPTS_MAX; attempt++) {
      try {
        if (token == null) {
          token = authenticate();
        }
        AuthGrpc.AuthBlockingStub auth = stub();
        if (!token.isEmpty()) {
          Metadata headers = new Metadata();
          headers.put(TOKEN_HEADER, token);
          auth = auth.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
        }
        return rpc.apply(auth);
      } catch (StatusRuntimeException e) {
        last = e;
        if (is(e, NuwaErrors.INVALID_AUTH_TOKEN) || is(e, NuwaErrors.AUTH_OLD_REVISION)
            || is(e, NuwaErrors.USER_EMPTY)) {
          token = null; // stale, or authentication was turned on since: log in again
          continue;
        }
        Status.Code code = e.getStatus().getCode();
        if (code == Status.Code.UNAVAILABLE || code == Status.Code.DEADLINE_EXCEEDED) {
          nextEndpoint();
        }
        throw e;
      }
    }
    throw last;
  }

  /**
   * Whether {@code user} logs in with {@code password}. Unlike setting a password, checking one
   * changes nothing in Nuwa's auth store, so it stales no client's token.
   */
  synchronized boolean authenticates(String user, String password) {
    try {
      stub().authenticate(AuthenticateRequest.newBuilder()
          .setName(user).setPassword(password).build());
      return true;
    } catch (StatusRuntimeException e) {
      if (is(e, NuwaErrors.AUTH_FAILED)) {
        return false;
      }
      Status.Code code = e.getStatus().getCode();
      if (code == Status.Code.UNAVAILABLE || code == Status.Code.DEADLINE_EXCEEDED) {
        nextEndpoint();
      }
      throw e;
    }
  }

  /** A new token, or "" if Nuwa has authentication off (then every call is open). */
  private String authenticate() {
    try {
      return stub().authenticate(login).getToken();
    } catch (StatusRuntimeException e) {
      if (is(e, NuwaErrors.AUTH_NOT_ENABLED)) {
        return "";
      }
      throw e;
    }
  }

  private AuthGrpc.AuthBlockingStub stub() {
    if (channel == null) {
      NettyChannelBuilder builder = NettyChannelBuilder.forTarget(endpoints.get(endpointIndex));
      channel = (sslContext == null ? builder.usePlaintext() : builder.sslContext(sslContext))
          .build();
      if (closed) {
        channel.shutdownNow(); // closed while this call was opening it: the call then fails
      }
    }
    return AuthGrpc.newBlockingStub(channel)
        .withDeadlineAfter(CALL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
  }

  private void nextEndpoint() {
    if (channel != null) {
      channel.shutdownNow();
      channel = null;
    }
    endpointIndex = (endpointIndex + 1) % endpoints.size();
    // A token is valid on every member (its key is replicated), so it is kept.
  }

  /** Fails the call in flight, if any, and every later one. Idempotent. */
  @Override
  public void close() {
    closed = true;
    ManagedChannel current = channel;
    if (current != null) {
      current.shutdownNow();
    }
  }
}
