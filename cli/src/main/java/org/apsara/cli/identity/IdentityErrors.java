package org.apsara.cli.identity;

import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import org.apsara.security.grpc.AuthenticationServerInterceptor;

/**
 * Turns a failed identity call into one line for the person who ran the command: the status code's
 * name, the error code the server put in {@code x-acs-error-code} if any, and what went wrong,
 * for example {@code UNAUTHENTICATED (InvalidAccessKeyId.Inactive): The AccessKey is disabled.}.
 * Stateless and thread-safe.
 */
final class IdentityErrors {
  private IdentityErrors() {}

  /** The line describing {@code e}, a failure of a call made through {@code session}. */
  static String describe(StatusRuntimeException e, IdentityConnection.Session session) {
    Status status = e.getStatus();
    Metadata trailers = e.getTrailers();
    String errorCode = trailers == null
        ? null : trailers.get(AuthenticationServerInterceptor.ERROR_CODE_TRAILER);
    StringBuilder line = new StringBuilder(status.getCode().name());
    if (errorCode != null && !errorCode.isEmpty()) {
      line.append(" (").append(errorCode).append(')');
    }
    line.append(": ");
    String endpoint = session.endpoint().format();
    switch (status.getCode()) {
      case UNAVAILABLE -> {
        if (status.getCause() != null) {
          // The client's transport failed: the server was never reached.
          line.append("cannot reach the identity service at ").append(endpoint).append(" (")
              .append(rootMessage(status.getCause()))
              .append("); is it running, and is this its endpoint?");
        } else {
          line.append(orNoMessage(status)).append(" (identity service at ").append(endpoint)
              .append(')');
        }
      }
      case DEADLINE_EXCEEDED -> line.append("the identity service at ").append(endpoint)
          .append(" did not answer within ").append(format(session.timeout()))
          .append(" (see --timeout)");
      case UNAUTHENTICATED -> line.append(orNoMessage(status)).append(" (signed with profile [")
          .append(session.profile().name()).append("] of ").append(session.credentialsFile())
          .append(')');
      default -> line.append(orNoMessage(status));
    }
    return line.toString();
  }

  private static String orNoMessage(Status status) {
    String description = status.getDescription();
    return description == null || description.isEmpty() ? "(no message from the server)" : description;
  }

  private static String rootMessage(Throwable cause) {
    Throwable root = cause;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    return root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
  }

  private static String format(Duration duration) {
    return duration.toMillis() % 1000 == 0
        ? duration.toSeconds() + "s"
        : duration.toMillis() + "ms";
  }
}
