package org.apsara.nuwa.client;

import io.grpc.Status;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apsara.nuwa.api.NuwaErrors;

/** Maps gRPC failures to the client's typed exceptions, keeping the server's message. */
final class Errors {
  private Errors() {}

  private static final Pattern GO_STATUS_TEXT =
      Pattern.compile("rpc error: code = \\w+ desc = (.*)", Pattern.DOTALL);

  /** Errors a watch can be cancelled with that have a code of their own. */
  private static final List<Status> WATCH_CANCEL_REASONS =
      List.of(NuwaErrors.PERMISSION_DENIED, NuwaErrors.INVALID_AUTH_TOKEN, NuwaErrors.AUTH_OLD_REVISION, NuwaErrors.USER_EMPTY);

  /** Converts any failure of a Nuwa call into a {@link NuwaException}. */
  static NuwaException toNuwaException(Throwable failure) {
    Throwable t = unwrap(failure);
    if (t instanceof NuwaException nuwa) {
      return nuwa;
    }
    if (t instanceof CancellationException) {
      return new NuwaException(Status.Code.CANCELLED, "request cancelled", t);
    }
    Status status = Status.fromThrowable(t);
    if (status.getCause() instanceof NuwaAuthenticationException refused) {
      // Authentication failed before the call could be sent (see AuthTokens): report that, with
      // this call's failure as the cause, so that every call sharing that authentication has an
      // exception of its own.
      return new NuwaAuthenticationException(refused.code(), refused.getMessage(), t);
    }
    String message = describe(status);
    if (isAuthenticationFailure(status)) {
      return new NuwaAuthenticationException(status.getCode(), message, t);
    }
    switch (status.getCode()) {
      case OUT_OF_RANGE:
        if (sameDescription(status, NuwaErrors.COMPACTED)) {
          return new CompactedException(message, 0, t);
        }
        break;
      case NOT_FOUND:
        if (sameDescription(status, NuwaErrors.LEASE_NOT_FOUND)) {
          return new LeaseNotFoundException(message, t);
        }
        break;
      case UNAVAILABLE:
        return new NuwaUnavailableException(message, t);
      case DEADLINE_EXCEEDED:
        return new NuwaTimeoutException(message, t);
      default:
        break;
    }
    return new NuwaException(status.getCode(), message, t);
  }

  /**
   * Whether the server rejected the request before proposing it, so that it cannot have been
   * applied and may be sent again to another endpoint. etcd answers these from an interceptor in
   * front of the request handlers; Nuwa must keep that property.
   */
  static boolean provenNotApplied(Status status) {
    return sameDescription(status, NuwaErrors.NO_LEADER)
        || sameDescription(status, NuwaErrors.NOT_LEADER)
        || sameDescription(status, NuwaErrors.NOT_CAPABLE);
  }

  /**
   * Whether the server refused the token the request carried, or that it carried none, as stale:
   * another authentication may fix it. etcd answers these before proposing a request (the token is
   * checked when the request arrives) or, for the auth revision and a missing user, when applying
   * it, by failing it without changing anything; either way the request was not applied and may be
   * sent again. Nuwa must keep that property.
   */
  static boolean isStaleToken(Status status) {
    return sameDescription(status, NuwaErrors.INVALID_AUTH_TOKEN)
        || sameDescription(status, NuwaErrors.AUTH_OLD_REVISION)
        || sameDescription(status, NuwaErrors.USER_EMPTY);
  }

  private static boolean isAuthenticationFailure(Status status) {
    return status.getCode() == Status.Code.UNAUTHENTICATED
        || isStaleToken(status)
        || sameDescription(status, NuwaErrors.AUTH_FAILED);
  }

  /**
   * The status a watch cancelled by the server with {@code reason} ended with: the etcd error of
   * that message if it has a code of its own ({@code NuwaErrors.PERMISSION_DENIED} for a watch on keys the
   * user may not read), else {@code CANCELLED}.
   */
  static Status watchCancelStatus(String reason) {
    // etcd writes the reason as its Go client prints a status: "rpc error: code = PermissionDenied
    // desc = etcdserver: permission denied".
    Matcher goStatus = GO_STATUS_TEXT.matcher(reason);
    String description = goStatus.matches() ? goStatus.group(1) : reason;
    for (Status known : WATCH_CANCEL_REASONS) {
      if (known.getDescription().equals(description)) {
        return known;
      }
    }
    return Status.CANCELLED.withDescription(
        reason.isEmpty() ? "the server cancelled the watch" : reason);
  }

  static boolean sameDescription(Status actual, Status expected) {
    return actual.getCode() == expected.getCode()
        && expected.getDescription().equals(actual.getDescription());
  }

  /** Waits for a future, rethrowing its failure as a {@link NuwaException}. */
  static <T> T await(CompletableFuture<T> future) {
    try {
      return future.get();
    } catch (ExecutionException e) {
      NuwaException failure = toNuwaException(e.getCause());
      // The failure was built on a gRPC thread; show where the caller waited for it instead.
      failure.fillInStackTrace();
      throw failure;
    } catch (InterruptedException e) {
      future.cancel(true);
      Thread.currentThread().interrupt();
      throw new NuwaException(Status.Code.CANCELLED, "interrupted while waiting for Nuwa", e);
    }
  }

  private static Throwable unwrap(Throwable t) {
    while ((t instanceof CompletionException || t instanceof ExecutionException)
        && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  private static String describe(Status status) {
    String description = status.getDescription();
    if (description != null && !description.isEmpty()) {
      return description;
    }
    Throwable cause = status.getCause();
    if (cause != null && cause.getMessage() != null) {
      return status.getCode() + ": " + cause.getMessage();
    }
    return status.getCode().toString();
  }
}
