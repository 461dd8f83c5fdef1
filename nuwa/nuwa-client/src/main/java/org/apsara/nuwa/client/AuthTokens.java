package org.apsara.nuwa.client;

import io.etcd.jetcd.api.AuthGrpc;
import io.etcd.jetcd.api.AuthenticateRequest;
import io.etcd.jetcd.api.AuthenticateResponse;
import io.grpc.CallCredentials;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.CompositeCallCredentials;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import org.apsara.nuwa.api.NuwaErrors;

/**
 * The etcd auth token of a client built with a user: obtained with {@code Auth/Authenticate} when a
 * call first needs it, attached to every call as the {@code token} request header, and obtained
 * again when the server says it is stale. Thread-safe.
 *
 * <p>At most one authentication is in flight at a time: calls that need a token while one is
 * running wait for it, and calls that fail on the same stale token share one renewal ({@link
 * #renew}), so a server restart that invalidates every token costs one authentication, not one per
 * call. If the server has authentication disabled the token is empty and calls carry none, as with
 * etcd's Go client.
 */
final class AuthTokens {
  /** etcd's request header for the token ({@code rpctypes.TokenFieldNameGRPC}). */
  static final Metadata.Key<String> TOKEN_KEY =
      Metadata.Key.of("token", Metadata.ASCII_STRING_MARSHALLER);

  /**
   * A call option through which a caller learns which token its call was sent with, to name it to
   * {@link #renew} if the server refuses it. Set to {@code ""} if the call carried none; left unset
   * if the call failed before a token was attached.
   */
  static final CallOptions.Key<AtomicReference<String>> SENT_TOKEN =
      CallOptions.Key.create("apsara-nuwa-sent-auth-token");

  /** The token of a server with authentication disabled: calls carry no token at all. */
  static final String NO_TOKEN = "";

  private static final String AUTHENTICATE_METHOD =
      AuthGrpc.getAuthenticateMethod().getFullMethodName();

  private final String user;
  private final AuthenticateRequest request;
  private final Function<AuthenticateRequest, CompletableFuture<AuthenticateResponse>> send;

  private final Object lock = new Object();

  /**
   * The last token obtained; null before the first, and after the server refused the password.
   * Written under the lock; read without it on the path every call takes.
   */
  private volatile String token;

  /** The authentication in flight, if any. Written under the lock. */
  private volatile CompletableFuture<String> inFlight;

  /**
   * @param send sends an Authenticate request (without a token) and retries it as the client's
   *     other requests are retried
   */
  AuthTokens(
      String user,
      String password,
      Function<AuthenticateRequest, CompletableFuture<AuthenticateResponse>> send) {
    this.user = Objects.requireNonNull(user, "user");
    this.request =
        AuthenticateRequest.newBuilder()
            .setName(user)
            .setPassword(Objects.requireNonNull(password, "password"))
            .build();
    this.send = Objects.requireNonNull(send, "send");
  }

  /**
   * The token to send now: the current one, the one being obtained, or a new one if there is none.
   * Fails with {@link NuwaAuthenticationException} if the server refused the user or password, or
   * with a retryable {@link NuwaException} if no server answered.
   */
  CompletableFuture<String> current() {
    CompletableFuture<String> pending = inFlight;
    if (pending != null) {
      return pending;
    }
    String known = token;
    if (known != null) {
      return CompletableFuture.completedFuture(known);
    }
    CompletableFuture<String> started;
    synchronized (lock) {
      if (inFlight != null) {
        return inFlight;
      }
      if (token != null) {
        return CompletableFuture.completedFuture(token);
      }
      started = inFlight = new CompletableFuture<>();
    }
    authenticate(started);
    return started;
  }

  /**
   * Replaces {@code staleToken}, which the server refused: authenticates again unless that already
   * happened or is under way since {@code staleToken} was handed out, in which case the newer token
   * is used. So however many calls fail on one stale token, it is replaced once.
   */
  CompletableFuture<String> renew(String staleToken) {
    CompletableFuture<String> started;
    synchronized (lock) {
      if (inFlight != null) {
        return inFlight;
      }
      if (token != null && !token.equals(staleToken)) {
        return CompletableFuture.completedFuture(token);
      }
      started = inFlight = new CompletableFuture<>();
    }
    authenticate(started);
    return started;
  }

  /**
   * Attaches the token to every call through the channel except Authenticate itself. A call waits
   * for the token, within its own deadline, before it is sent.
   */
  ClientInterceptor interceptor() {
    return new ClientInterceptor() {
      @Override
      public <Q, R> ClientCall<Q, R> interceptCall(
          MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
        if (method.getFullMethodName().equals(AUTHENTICATE_METHOD)) {
          // etcd checks a token sent with Authenticate too, so a stale one would fail the very
          // call meant to replace it.
          return next.newCall(method, options);
        }
        CallCredentials credentials = new TokenCredentials(options.getOption(SENT_TOKEN));
        CallCredentials existing = options.getCredentials();
        if (existing != null) {
          credentials = new CompositeCallCredentials(existing, credentials);
        }
        return next.newCall(method, options.withCallCredentials(credentials));
      }
    };
  }

  // Called without the lock: the request's future may complete at once, in this thread.
  private void authenticate(CompletableFuture<String> result) {
    CompletableFuture<AuthenticateResponse> response;
    try {
      response = send.apply(request);
    } catch (RuntimeException e) {
      response = CompletableFuture.failedFuture(e);
    }
    response.whenComplete(
        (r, failure) -> {
          String obtained = null;
          NuwaException error = null;
          if (failure == null) {
            obtained = r.getToken();
          } else if (Errors.sameDescription(
              Status.fromThrowable(failure), NuwaErrors.AUTH_NOT_ENABLED)) {
            obtained = NO_TOKEN;
          } else {
            error = describeFailure(failure);
          }
          synchronized (lock) {
            inFlight = null;
            if (obtained != null) {
              token = obtained;
            } else if (error instanceof NuwaAuthenticationException) {
              // The password is refused: the next call asks again rather than send a token the
              // server has invalidated (a password change invalidates the user's tokens).
              token = null;
            }
          }
          // Completed outside the lock: waiting calls resume from here.
          if (obtained != null) {
            result.complete(obtained);
          } else {
            result.completeExceptionally(error);
          }
        });
  }

  private NuwaException describeFailure(Throwable failure) {
    NuwaException error = Errors.toNuwaException(failure);
    if (error instanceof NuwaUnavailableException
        || error instanceof NuwaTimeoutException
        || error.code() == Status.Code.CANCELLED) {
      // No server answered (or the client is closing): the next call tries again.
      return error;
    }
    return new NuwaAuthenticationException(
        error.code(),
        "cannot authenticate as user \"" + user + "\": " + error.getMessage(),
        error);
  }

  /** The status that fails a call whose token could not be obtained. */
  private static Status callFailure(Throwable failure) {
    NuwaException error = Errors.toNuwaException(failure);
    Status.Code code =
        switch (error.code()) {
          // Codes gRPC lets credentials fail a call with; the call may then be retried, since
          // nothing was sent.
          case UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED -> error.code();
          default -> Status.Code.UNAUTHENTICATED;
        };
    return Status.fromCode(code).withDescription(error.getMessage()).withCause(error);
  }

  /** Puts the token in the headers of one call, waiting for it if it is being obtained. */
  private final class TokenCredentials extends CallCredentials {
    private final AtomicReference<String> sent;

    TokenCredentials(AtomicReference<String> sent) {
      this.sent = sent;
    }

    @Override
    public void applyRequestMetadata(
        RequestInfo requestInfo, Executor appExecutor, MetadataApplier applier) {
      current()
          .whenComplete(
              (token, failure) -> {
                if (failure != null) {
                  applier.fail(callFailure(failure));
                  return;
                }
                if (sent != null) {
                  sent.set(token);
                }
                Metadata headers = new Metadata();
                if (!token.isEmpty()) {
                  headers.put(TOKEN_KEY, token);
                }
                applier.apply(headers);
              });
    }
  }
}
