package org.apsara.fuxi.client;

import io.grpc.Status;

/**
 * The codes FuxiMaster and Tubo name in the trailer {@code x-fuxi-error-code}, as {@code
 * fuxi.proto} lists them, plus two the client itself reports.
 */
public enum FuxiErrorCode {
  INVALID_ARGUMENT(Status.Code.INVALID_ARGUMENT),
  UNKNOWN_APPLICATION(Status.Code.NOT_FOUND),
  UNKNOWN_ROLE(Status.Code.NOT_FOUND),
  UNKNOWN_QUOTA_GROUP(Status.Code.NOT_FOUND),
  UNKNOWN_MACHINE(Status.Code.NOT_FOUND),
  UNKNOWN_WORKER(Status.Code.NOT_FOUND),
  ROLE_EXISTS(Status.Code.ALREADY_EXISTS),
  WORKER_EXISTS(Status.Code.ALREADY_EXISTS),
  SHAPE_TOO_LARGE(Status.Code.FAILED_PRECONDITION),
  QUOTA_EXCEEDS_CLUSTER(Status.Code.FAILED_PRECONDITION),
  APPLICATION_FINISHED(Status.Code.FAILED_PRECONDITION),
  NOT_GRANTED(Status.Code.FAILED_PRECONDITION),
  QUOTA_GROUP_IN_USE(Status.Code.FAILED_PRECONDITION),
  TOO_MANY(Status.Code.RESOURCE_EXHAUSTED),
  BAD_APPLICATION_TOKEN(Status.Code.PERMISSION_DENIED),
  NOT_PRIMARY(Status.Code.UNAVAILABLE),
  REBUILDING(Status.Code.UNAVAILABLE),
  /** Client side: no primary answered before the operation's deadline. */
  MASTER_UNAVAILABLE(Status.Code.UNAVAILABLE),
  /** The server named no code (or one this client does not know); see the status. */
  UNCLASSIFIED(Status.Code.UNKNOWN);

  private final Status.Code grpcCode;

  FuxiErrorCode(Status.Code grpcCode) {
    this.grpcCode = grpcCode;
  }

  /** The gRPC status code servers send with this error code. */
  public Status.Code grpcCode() {
    return grpcCode;
  }

  /** The code named by a trailer value; {@link #UNCLASSIFIED} for null, empty or unknown. */
  public static FuxiErrorCode parse(String name) {
    if (name == null || name.isEmpty()) {
      return UNCLASSIFIED;
    }
    try {
      return valueOf(name);
    } catch (IllegalArgumentException e) {
      return UNCLASSIFIED;
    }
  }
}
