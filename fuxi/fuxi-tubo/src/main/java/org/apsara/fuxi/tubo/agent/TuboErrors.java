package org.apsara.fuxi.tubo.agent;

import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.apsara.fuxi.api.FuxiTrailers;

/**
 * The refusals of the Tubo service, each a gRPC status with a sentence for people and the
 * {@value FuxiTrailers#ERROR_CODE_NAME} trailer naming the code, as {@code fuxi.proto} lists them.
 * A refusal means nothing changed. Stateless.
 */
final class TuboErrors {
  static final String INVALID_ARGUMENT = "INVALID_ARGUMENT";
  static final String WORKER_EXISTS = "WORKER_EXISTS";
  static final String NOT_GRANTED = "NOT_GRANTED";
  static final String TOO_MANY = "TOO_MANY";
  static final String BAD_APPLICATION_TOKEN = "BAD_APPLICATION_TOKEN";
  static final String REBUILDING = "REBUILDING";

  private TuboErrors() {}

  static StatusRuntimeException error(Status.Code code, String errorCode, String message) {
    Metadata trailers = new Metadata();
    trailers.put(FuxiTrailers.ERROR_CODE, errorCode);
    return Status.fromCode(code).withDescription(message).asRuntimeException(trailers);
  }

  static StatusRuntimeException invalidArgument(String message) {
    return error(Status.Code.INVALID_ARGUMENT, INVALID_ARGUMENT, message);
  }

  /** The error code of a refusal; "" if it carries none. */
  static String codeOf(StatusRuntimeException e) {
    Metadata trailers = e.getTrailers();
    String code = trailers == null ? null : trailers.get(FuxiTrailers.ERROR_CODE);
    return code == null ? "" : code;
  }
}
