package org.apsara.nuwa.server.grpc;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;

/**
 * Hands the etcd token a request carries to its handler: etcd clients send it in the
 * {@code token} metadata (gRPC-gateway clients in {@code authorization}), and handlers read it with
 * {@link #currentToken} while they run. Requests without token pass through untouched.
 */
public final class AuthTokenInterceptor implements ServerInterceptor {
  /** etcd's {@code rpctypes.TokenFieldNameGRPC}. */
  static final Metadata.Key<String> TOKEN =
      Metadata.Key.of("token", Metadata.ASCII_STRING_MARSHALLER);
  /** etcd's {@code rpctypes.TokenFieldNameSwagger}. */
  static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
  private static final Context.Key<String> CONTEXT_TOKEN = Context.key("nuwa-etcd-token");

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
      ServerCallHandler<Q, R> next) {
    String token = headers.get(TOKEN);
    if (token == null) {
      token = headers.get(AUTHORIZATION);
    }
    if (token == null) {
      return next.startCall(call, headers);
    }
    return Contexts.interceptCall(Context.current().withValue(CONTEXT_TOKEN, token), call, headers,
        next);
  }

  /** The token of the request being handled on this thread, or null if it carried none. */
  static String currentToken() {
    return CONTEXT_TOKEN.get();
  }
}
