package org.apsara.nuwa.client;

import io.grpc.Status;
import java.util.Objects;

/**
 * A failed Nuwa request. Unchecked, like the gRPC errors it carries.
 *
 * <p>The message is the server's own (for example {@code "etcdserver: requested lease not found"})
 * when the server gave one, so that it can be matched against etcd's documented errors. {@link
 * #code()} is the gRPC status code the request ended with. Subclasses name the errors a caller is
 * expected to handle differently; anything else is a plain {@code NuwaException}.
 */
public class NuwaException extends RuntimeException {
  private final Status.Code code;

  public NuwaException(Status.Code code, String message) {
    this(code, message, null);
  }

  public NuwaException(Status.Code code, String message, Throwable cause) {
    super(message, cause);
    this.code = Objects.requireNonNull(code, "code");
  }

  /** The gRPC status code of the failure ({@code UNKNOWN} for failures that had none). */
  public Status.Code code() {
    return code;
  }
}
