package org.apsara.fuxi.client;

import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.util.Objects;
import org.apsara.fuxi.api.FuxiTrailers;

/**
 * A Fuxi call failed. Carries the gRPC status code, the code the server named in {@code
 * x-fuxi-error-code} (as {@link #code()} and verbatim as {@link #serverCode()}) and, as the
 * message, the server's sentence. A refusal by the server means nothing changed.
 */
public class FuxiException extends IOException {
  private static final long serialVersionUID = 1L;

  private final Status.Code status;
  private final FuxiErrorCode code;
  private final String serverCode;

  public FuxiException(Status.Code status, FuxiErrorCode code, String serverCode, String message,
      Throwable cause) {
    super(message, cause);
    this.status = Objects.requireNonNull(status, "status");
    this.code = Objects.requireNonNull(code, "code");
    this.serverCode = serverCode == null ? "" : serverCode;
  }

  /** A failure the client itself decided on (no server code). */
  public FuxiException(FuxiErrorCode code, String message, Throwable cause) {
    this(code.grpcCode(), code, "", message, cause);
  }

  /** The exception for an error status received from a Fuxi server. */
  public static FuxiException fromStatus(StatusRuntimeException e) {
    return fromStatus(e.getStatus(), e.getTrailers(), e);
  }

  /** The exception for an error status and its trailers (which may be null). */
  public static FuxiException fromStatus(Status status, Metadata trailers, Throwable cause) {
    String serverCode = trailers == null ? null : trailers.get(FuxiTrailers.ERROR_CODE);
    String description = status.getDescription();
    String message = description != null ? description
        : status.getCode() + (serverCode != null ? " " + serverCode : "");
    return new FuxiException(status.getCode(), FuxiErrorCode.parse(serverCode), serverCode,
        message, cause);
  }

  /** The gRPC status code of the failure. */
  public Status.Code status() {
    return status;
  }

  /** The Fuxi error code; {@link FuxiErrorCode#UNCLASSIFIED} when the server named none. */
  public FuxiErrorCode code() {
    return code;
  }

  /** The trailer value exactly as the server sent it; "" if none. */
  public String serverCode() {
    return serverCode;
  }

  @Override
  public String toString() {
    return "FuxiException[" + status + (serverCode.isEmpty() ? "" : "/" + serverCode) + "]: "
        + getMessage();
  }
}
