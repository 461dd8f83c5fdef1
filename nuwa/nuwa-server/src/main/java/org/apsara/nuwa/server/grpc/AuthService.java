package org.apsara.nuwa.server.grpc;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.etcd.jetcd.api.AuthDisableRequest;
import io.etcd.jetcd.api.AuthDisableResponse;
import io.etcd.jetcd.api.AuthEnableRequest;
import io.etcd.jetcd.api.AuthEnableResponse;
import io.etcd.jetcd.api.AuthGrpc;
import io.etcd.jetcd.api.AuthRoleAddRequest;
import io.etcd.jetcd.api.AuthRoleAddResponse;
import io.etcd.jetcd.api.AuthRoleDeleteRequest;
import io.etcd.jetcd.api.AuthRoleDeleteResponse;
import io.etcd.jetcd.api.AuthRoleGetRequest;
import io.etcd.jetcd.api.AuthRoleGetResponse;
import io.etcd.jetcd.api.AuthRoleGrantPermissionRequest;
import io.etcd.jetcd.api.AuthRoleGrantPermissionResponse;
import io.etcd.jetcd.api.AuthRoleListRequest;
import io.etcd.jetcd.api.AuthRoleListResponse;
import io.etcd.jetcd.api.AuthRoleRevokePermissionRequest;
import io.etcd.jetcd.api.AuthRoleRevokePermissionResponse;
import io.etcd.jetcd.api.AuthUserAddRequest;
import io.etcd.jetcd.api.AuthUserAddResponse;
import io.etcd.jetcd.api.AuthUserChangePasswordRequest;
import io.etcd.jetcd.api.AuthUserChangePasswordResponse;
import io.etcd.jetcd.api.AuthUserDeleteRequest;
import io.etcd.jetcd.api.AuthUserDeleteResponse;
import io.etcd.jetcd.api.AuthUserGetRequest;
import io.etcd.jetcd.api.AuthUserGetResponse;
import io.etcd.jetcd.api.AuthUserGrantRoleRequest;
import io.etcd.jetcd.api.AuthUserGrantRoleResponse;
import io.etcd.jetcd.api.AuthUserListRequest;
import io.etcd.jetcd.api.AuthUserListResponse;
import io.etcd.jetcd.api.AuthUserRevokeRoleRequest;
import io.etcd.jetcd.api.AuthUserRevokeRoleResponse;
import io.etcd.jetcd.api.AuthenticateRequest;
import io.etcd.jetcd.api.AuthenticateResponse;
import io.etcd.jetcd.api.Permission;
import io.etcd.jetcd.api.ResponseHeader;
import io.grpc.MethodDescriptor;
import io.grpc.ServerServiceDefinition;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.security.SecureRandom;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiFunction;
import java.util.function.Function;
import org.apsara.nuwa.api.NuwaErrors;
import org.apsara.nuwa.server.auth.Access;
import org.apsara.nuwa.server.auth.AuthState;
import org.apsara.nuwa.server.auth.proto.AuthRole;
import org.apsara.nuwa.server.auth.proto.AuthStatusRequest;
import org.apsara.nuwa.server.auth.proto.AuthStatusResponse;
import org.apsara.nuwa.server.auth.proto.AuthUser;
import org.apsara.nuwa.server.auth.proto.PasswordHash;
import org.apsara.nuwa.server.auth.proto.UserAddOptions;
import org.apsara.nuwa.server.raft.proto.AuthEnable;
import org.apsara.nuwa.server.raft.proto.AuthRecord;
import org.apsara.nuwa.server.raft.proto.Query;
import org.apsara.nuwa.server.raft.proto.UserAdd;
import org.apsara.nuwa.server.raft.proto.UserChangePassword;

/**
 * etcd's Auth service. Changes go through the log as {@link AuthRecord}s, after this member has
 * checked that the caller may make them (the root role, while authentication is enabled) and has
 * hashed any password on the password executor. Changes, reads of the auth state (users, roles,
 * status) and Authenticate first wait for a read index, so that they see every change
 * acknowledged before them, on whichever member they arrive.
 */
final class AuthService extends AuthGrpc.AuthImplBase {
  /** etcd's method that the jetcd .proto files lack; same name and wire format. */
  static final MethodDescriptor<AuthStatusRequest, AuthStatusResponse> AUTH_STATUS =
      MethodDescriptor.<AuthStatusRequest, AuthStatusResponse>newBuilder()
          .setType(MethodDescriptor.MethodType.UNARY)
          .setFullMethodName(MethodDescriptor.generateFullMethodName(
              AuthGrpc.SERVICE_NAME, "AuthStatus"))
          .setRequestMarshaller(ProtoUtils.marshaller(AuthStatusRequest.getDefaultInstance()))
          .setResponseMarshaller(ProtoUtils.marshaller(AuthStatusResponse.getDefaultInstance()))
          .build();
  /** Field number of etcd's {@code AuthUserAddRequest.options}, unknown to the jetcd .proto files. */
  private static final int USER_ADD_OPTIONS_FIELD = 3;
  /** Size of the token-signing key chosen when authentication is enabled (HMAC-SHA256's block). */
  private static final int TOKEN_KEY_BYTES = 32;
  /** The permission etcd reports for the root role: read and write on every key. */
  private static final Permission ROOT_PERMISSION = Permission.newBuilder()
      .setPermType(Permission.Type.READWRITE)
      .setKey(ByteString.EMPTY)
      .setRangeEnd(ByteString.copyFrom(new byte[] {0}))
      .build();
  private static final Query AUTH_STATUS_QUERY =
      Query.newBuilder().setAuthStatus(AuthStatusRequest.getDefaultInstance()).build();

  private final ServerContext ctx;
  private final SecureRandom random = new SecureRandom();

  AuthService(ServerContext ctx) {
    this.ctx = ctx;
  }

  /** This service plus the AuthStatus method, as one service definition. */
  ServerServiceDefinition definition() {
    ServerServiceDefinition generated = bindService();
    io.grpc.ServiceDescriptor.Builder descriptor =
        io.grpc.ServiceDescriptor.newBuilder(AuthGrpc.SERVICE_NAME);
    generated.getServiceDescriptor().getMethods().forEach(descriptor::addMethod);
    descriptor.addMethod(AUTH_STATUS);
    ServerServiceDefinition.Builder builder = ServerServiceDefinition.builder(descriptor.build());
    generated.getMethods().forEach(builder::addMethod);
    builder.addMethod(AUTH_STATUS, ServerCalls.asyncUnaryCall(this::authStatus));
    return builder.build();
  }

  // ---------------------------------------------------------------- enabling

  @Override
  public void authEnable(AuthEnableRequest request, StreamObserver<AuthEnableResponse> observer) {
    asAdmin(observer, caller -> {
      byte[] key = new byte[TOKEN_KEY_BYTES];
      random.nextBytes(key);
      AuthRecord record = AuthRecord.newBuilder()
          .setEnable(AuthEnable.newBuilder().setTokenKey(ByteString.copyFrom(key))).build();
      return proposeChange(caller, record,
          header -> AuthEnableResponse.newBuilder().setHeader(header).build());
    });
  }

  @Override
  public void authDisable(AuthDisableRequest request,
      StreamObserver<AuthDisableResponse> observer) {
    asAdmin(observer, caller -> proposeChange(caller,
        AuthRecord.newBuilder().setDisable(request).build(),
        header -> AuthDisableResponse.newBuilder().setHeader(header).build()));
  }

  /** Open to every caller, as in etcd 3.6: it tells only whether authentication is on. */
  void authStatus(AuthStatusRequest request, StreamObserver<AuthStatusResponse> observer) {
    ServerContext.reply(ctx.raft.readLinearizable(AUTH_STATUS_QUERY), r -> {
      AuthStatusResponse status = ServerContext.checkReply(r).getAuthStatus();
      return status.toBuilder().setHeader(ctx.header(status.getHeader())).build();
    }, observer);
  }

  // ---------------------------------------------------------------- tokens

  /**
   * Checks the password against this member's state once a read index has brought it up to date,
   * and signs a token with the auth revision of that state. An unknown user, a user without
   * password and a wrong password all cost one hash and get the same answer.
   */
  @Override
  public void authenticate(AuthenticateRequest request,
      StreamObserver<AuthenticateResponse> observer) {
    CompletableFuture<AuthenticateResponse> answer = ctx.raft.readLinearizable(AUTH_STATUS_QUERY)
        .thenCompose(caughtUp -> {
          AuthState state = ctx.access.state();
          if (!state.enabled()) {
            throw NuwaErrors.AUTH_NOT_ENABLED.asRuntimeException();
          }
          AuthUser user = state.user(request.getName());
          PasswordHash stored = user != null && user.hasPassword() ? user.getPassword() : null;
          return ctx.hashing(() -> {
            if (!ctx.passwords.matches(request.getPassword(), stored)) {
              throw NuwaErrors.AUTH_FAILED.asRuntimeException();
            }
            return AuthenticateResponse.newBuilder().setHeader(ctx.header())
                .setToken(ctx.access.issueToken(state, request.getName())).build();
          });
        });
    ServerContext.complete(answer, observer);
  }

  // ---------------------------------------------------------------- users

  @Override
  public void userAdd(AuthUserAddRequest request, StreamObserver<AuthUserAddResponse> observer) {
    asAdmin(observer, caller -> {
      if (request.getName().isEmpty()) {
        throw NuwaErrors.USER_EMPTY.asRuntimeException();
      }
      boolean noPassword = options(request).getNoPassword();
      CompletableFuture<PasswordHash> hashed = noPassword
          ? CompletableFuture.completedFuture(null)
          : ctx.hashing(() -> ctx.passwords.hash(request.getPassword()));
      return hashed.thenCompose(hash -> {
        UserAdd.Builder add = UserAdd.newBuilder().setName(request.getName())
            .setNoPassword(noPassword);
        if (hash != null) {
          add.setPassword(hash);
        }
        return proposeChange(caller, AuthRecord.newBuilder().setUserAdd(add).build(),
            header -> AuthUserAddResponse.newBuilder().setHeader(header).build());
      });
    });
  }

  /** etcd's {@code UserAddOptions}, sent by etcd 3.5 clients as field 3; absent from older ones. */
  private static UserAddOptions options(AuthUserAddRequest request) {
    var field = request.getUnknownFields().getField(USER_ADD_OPTIONS_FIELD);
    if (field == null || field.getLengthDelimitedList().isEmpty()) {
      return UserAddOptions.getDefaultInstance();
    }
    List<ByteString> values = field.getLengthDelimitedList();
    try {
      return UserAddOptions.parseFrom(values.get(values.size() - 1));
    } catch (InvalidProtocolBufferException e) {
      throw NuwaErrors.invalidArgument("unreadable user add options");
    }
  }

  /** A caller may read its own user; anyone else's needs the root role. */
  @Override
  public void userGet(AuthUserGetRequest request, StreamObserver<AuthUserGetResponse> observer) {
    read(observer, (caller, state) -> {
      if (!request.getName().equals(caller.user())) {
        caller.requireAdmin();
      }
      AuthUser user = state.user(request.getName());
      if (user == null) {
        throw NuwaErrors.USER_NOT_FOUND.asRuntimeException();
      }
      return AuthUserGetResponse.newBuilder().setHeader(ctx.header())
          .addAllRoles(user.getRolesList()).build();
    });
  }

  @Override
  public void userList(AuthUserListRequest request, StreamObserver<AuthUserListResponse> observer) {
    read(observer, (caller, state) -> {
      caller.requireAdmin();
      return AuthUserListResponse.newBuilder().setHeader(ctx.header())
          .addAllUsers(state.users().keySet()).build();
    });
  }

  @Override
  public void userDelete(AuthUserDeleteRequest request,
      StreamObserver<AuthUserDeleteResponse> observer) {
    administer(AuthRecord.newBuilder().setUserDelete(request).build(),
        header -> AuthUserDeleteResponse.newBuilder().setHeader(header).build(), observer);
  }

  /** Needs the root role, also for one's own password, as in etcd. */
  @Override
  public void userChangePassword(AuthUserChangePasswordRequest request,
      StreamObserver<AuthUserChangePasswordResponse> observer) {
    asAdmin(observer, caller -> ctx.hashing(() -> ctx.passwords.hash(request.getPassword()))
        .thenCompose(hash -> proposeChange(caller, AuthRecord.newBuilder()
                .setUserChangePassword(UserChangePassword.newBuilder()
                    .setName(request.getName()).setPassword(hash))
                .build(),
            header -> AuthUserChangePasswordResponse.newBuilder().setHeader(header).build())));
  }

  @Override
  public void userGrantRole(AuthUserGrantRoleRequest request,
      StreamObserver<AuthUserGrantRoleResponse> observer) {
    administer(AuthRecord.newBuilder().setUserGrantRole(request).build(),
        header -> AuthUserGrantRoleResponse.newBuilder().setHeader(header).build(), observer);
  }

  @Override
  public void userRevokeRole(AuthUserRevokeRoleRequest request,
      StreamObserver<AuthUserRevokeRoleResponse> observer) {
    administer(AuthRecord.newBuilder().setUserRevokeRole(request).build(),
        header -> AuthUserRevokeRoleResponse.newBuilder().setHeader(header).build(), observer);
  }

  // ---------------------------------------------------------------- roles

  @Override
  public void roleAdd(AuthRoleAddRequest request, StreamObserver<AuthRoleAddResponse> observer) {
    administer(AuthRecord.newBuilder().setRoleAdd(request).build(),
        header -> AuthRoleAddResponse.newBuilder().setHeader(header).build(), observer);
  }

  /** A caller may read a role it holds; any other needs the root role. */
  @Override
  public void roleGet(AuthRoleGetRequest request, StreamObserver<AuthRoleGetResponse> observer) {
    read(observer, (caller, state) -> {
      AuthUser self = state.user(caller.user());
      if (self == null || !self.getRolesList().contains(request.getRole())) {
        caller.requireAdmin();
      }
      AuthRole role = state.role(request.getRole());
      if (role == null) {
        throw NuwaErrors.ROLE_NOT_FOUND.asRuntimeException();
      }
      AuthRoleGetResponse.Builder response = AuthRoleGetResponse.newBuilder()
          .setHeader(ctx.header());
      if (AuthState.ROOT.equals(role.getName())) {
        response.addPerm(ROOT_PERMISSION);
      } else {
        response.addAllPerm(role.getPermissionsList());
      }
      return response.build();
    });
  }

  @Override
  public void roleList(AuthRoleListRequest request, StreamObserver<AuthRoleListResponse> observer) {
    read(observer, (caller, state) -> {
      caller.requireAdmin();
      return AuthRoleListResponse.newBuilder().setHeader(ctx.header())
          .addAllRoles(state.roles().keySet()).build();
    });
  }

  @Override
  public void roleDelete(AuthRoleDeleteRequest request,
      StreamObserver<AuthRoleDeleteResponse> observer) {
    administer(AuthRecord.newBuilder().setRoleDelete(request).build(),
        header -> AuthRoleDeleteResponse.newBuilder().setHeader(header).build(), observer);
  }

  @Override
  public void roleGrantPermission(AuthRoleGrantPermissionRequest request,
      StreamObserver<AuthRoleGrantPermissionResponse> observer) {
    administer(AuthRecord.newBuilder().setRoleGrantPermission(request).build(),
        header -> AuthRoleGrantPermissionResponse.newBuilder().setHeader(header).build(),
        observer);
  }

  @Override
  public void roleRevokePermission(AuthRoleRevokePermissionRequest request,
      StreamObserver<AuthRoleRevokePermissionResponse> observer) {
    administer(AuthRecord.newBuilder().setRoleRevokePermission(request).build(),
        header -> AuthRoleRevokePermissionResponse.newBuilder().setHeader(header).build(),
        observer);
  }

  // ---------------------------------------------------------------- shared paths

  /** A change only the root role may make, proposed as it is. */
  private <T> void administer(AuthRecord record, Function<ResponseHeader, T> response,
      StreamObserver<T> observer) {
    asAdmin(observer, caller -> proposeChange(caller, record, response));
  }

  /**
   * Runs a change of the auth state for a caller with the root role, judged once a read index has
   * brought this member up to date. A change is stamped with the auth revision it was judged at,
   * and refused if another change applies first (see {@link ServerContext#record}); judged by a
   * follower that has not applied the latest change yet, it would be refused for that alone, and
   * again on every retry until the follower heard from the leader. Auth changes are rare, so the
   * round costs nothing that matters.
   */
  private <T> void asAdmin(StreamObserver<T> observer,
      Function<Access, CompletableFuture<T>> change) {
    String token = AuthTokenInterceptor.currentToken();
    ServerContext.complete(ctx.raft.awaitCaughtUp().thenCompose(caughtUp -> {
      Access caller = ctx.access.authenticate(token);
      caller.requireAdmin();
      return change.apply(caller);
    }), observer);
  }

  private <T> CompletableFuture<T> proposeChange(Access caller, AuthRecord record,
      Function<ResponseHeader, T> response) {
    return ctx.raft.propose(ServerContext.record(caller).setAuth(record).build())
        .thenApply(applied -> response.apply(ctx.header()));
  }

  /**
   * Answers from the auth state once a read index has brought this member up to date, judging
   * the caller against that state.
   */
  private <T> void read(StreamObserver<T> observer, BiFunction<Access, AuthState, T> answer) {
    String token = AuthTokenInterceptor.currentToken();
    ServerContext.complete(ctx.raft.readLinearizable(AUTH_STATUS_QUERY).thenApply(caughtUp -> {
      Access caller = ctx.access.authenticate(token);
      return answer.apply(caller, caller.state());
    }), observer);
  }
}
