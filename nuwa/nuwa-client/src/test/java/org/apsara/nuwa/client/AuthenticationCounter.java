package org.apsara.nuwa.client;

import io.etcd.jetcd.api.AuthGrpc;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.ForwardingClientCallListener;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import java.util.concurrent.atomic.AtomicInteger;

/** Counts the Authenticate calls of a client that the server answered with a token. */
final class AuthenticationCounter implements ClientInterceptor {
  private final AtomicInteger succeeded = new AtomicInteger();

  int succeeded() {
    return succeeded.get();
  }

  @Override
  public <Q, R> ClientCall<Q, R> interceptCall(
      MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
    ClientCall<Q, R> call = next.newCall(method, options);
    if (!method.getFullMethodName().equals(AuthGrpc.getAuthenticateMethod().getFullMethodName())) {
      return call;
    }
    return new ForwardingClientCall.SimpleForwardingClientCall<>(call) {
      @Override
      public void start(Listener<R> listener, Metadata headers) {
        super.start(
            new ForwardingClientCallListener.SimpleForwardingClientCallListener<>(listener) {
              @Override
              public void onClose(Status status, Metadata trailers) {
                if (status.isOk()) {
                  succeeded.incrementAndGet();
                }
                super.onClose(status, trailers);
              }
            },
            headers);
      }
    };
  }
}
