package org.apsara.nuwa.client;

import io.grpc.Status;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import org.apsara.nuwa.api.NuwaErrors;

/** Maps gRPC failures to the client's typed exceptions, keeping the server's message. */
final class Errors {
  private Errors() {}

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
    String message = describe(status);
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
