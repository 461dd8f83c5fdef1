package org.apsara.fuxi.master.server;

import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.Optional;
import org.apsara.fuxi.api.FuxiTrailers;
import org.apsara.fuxi.api.v1.ChangeError;
import org.apsara.fuxi.master.scheduler.SchedulerException;

/**
 * The error statuses FuxiMaster answers with: a gRPC status with a sentence, plus the {@code
 * x-fuxi-error-code} trailer (and {@code x-fuxi-primary} on a standby), as {@code fuxi.proto}'s
 * header lists them. Stateless.
 */
final class FuxiErrors {
  private FuxiErrors() {}

  static StatusRuntimeException error(Status.Code status, String code, String message) {
    Metadata trailers = new Metadata();
    trailers.put(FuxiTrailers.ERROR_CODE, code);
    return Status.fromCode(status).withDescription(message).asRuntimeException(trailers);
  }

  static StatusRuntimeException invalid(String message) {
    return error(Status.Code.INVALID_ARGUMENT, "INVALID_ARGUMENT", message);
  }

  static StatusRuntimeException notPrimary(Optional<String> primary) {
    Metadata trailers = new Metadata();
    trailers.put(FuxiTrailers.ERROR_CODE, "NOT_PRIMARY");
    primary.ifPresent(address -> trailers.put(FuxiTrailers.PRIMARY, address));
    return Status.UNAVAILABLE
        .withDescription("this FuxiMaster is a standby"
            + primary.map(p -> "; the primary is " + p).orElse("; no primary is known yet"))
        .asRuntimeException(trailers);
  }

  static StatusRuntimeException rebuilding() {
    return error(Status.Code.UNAVAILABLE, "REBUILDING",
        "a new primary is collecting soft state from Tubos and application masters; retry shortly");
  }

  static StatusRuntimeException unknownApplication(String appId) {
    return error(Status.Code.NOT_FOUND, "UNKNOWN_APPLICATION", "no application " + appId);
  }

  /** NOT_FOUND for an application that finished and was purged under the retention limits. */
  static StatusRuntimeException purgedApplication(String appId, int finishedMax,
      Duration retention) {
    return error(Status.Code.NOT_FOUND, "UNKNOWN_APPLICATION", "application " + appId
        + " finished and was purged: the master keeps at most applications.finished.max="
        + finishedMax + " finished applications, none longer than"
        + " applications.finished.retention=" + retention);
  }

  static StatusRuntimeException tooMany(String message) {
    return error(Status.Code.RESOURCE_EXHAUSTED, "TOO_MANY", message);
  }

  /** The status of a scheduler refusal; the scheduler changed nothing. */
  static StatusRuntimeException fromScheduler(SchedulerException e) {
    String message = e.getMessage();
    return switch (e.code()) {
      case INVALID_ARGUMENT, INVALID_RESOURCES, COUNT_OUT_OF_RANGE, PRIORITY_OUT_OF_RANGE,
          UNKNOWN_RACK, QUOTA_MIN_EXCEEDS_MAX, RELEASE_EXCEEDS_HELD, LOCATION_REFUSED,
          INVALID_REPORT -> invalid(message);
      case TOO_MANY_PENDING_UNITS, LIMIT_EXCEEDED -> tooMany(message);
      case SHAPE_LARGER_THAN_ANY_MACHINE ->
          error(Status.Code.FAILED_PRECONDITION, "SHAPE_TOO_LARGE", message);
      case QUOTA_GROUP_IN_USE ->
          error(Status.Code.FAILED_PRECONDITION, "QUOTA_GROUP_IN_USE", message);
      case QUOTA_MIN_EXCEEDS_CLUSTER ->
          error(Status.Code.FAILED_PRECONDITION, "QUOTA_EXCEEDS_CLUSTER", message);
      case UNKNOWN_MACHINE -> error(Status.Code.NOT_FOUND, "UNKNOWN_MACHINE", message);
      case UNKNOWN_APPLICATION -> error(Status.Code.NOT_FOUND, "UNKNOWN_APPLICATION", message);
      case UNKNOWN_ROLE -> error(Status.Code.NOT_FOUND, "UNKNOWN_ROLE", message);
      case UNKNOWN_QUOTA_GROUP -> error(Status.Code.NOT_FOUND, "UNKNOWN_QUOTA_GROUP", message);
      case DUPLICATE_ROLE -> error(Status.Code.ALREADY_EXISTS, "ROLE_EXISTS", message);
      case DUPLICATE_MACHINE, DUPLICATE_APPLICATION, DUPLICATE_QUOTA_GROUP ->
          error(Status.Code.ALREADY_EXISTS, e.code().name(), message);
      case NOT_EMPTY -> error(Status.Code.INTERNAL, "INTERNAL", message);
    };
  }

  /** One refused item of an AM's Changes, from the status it would have been refused with. */
  static ChangeError changeError(String change, String role, StatusRuntimeException e) {
    String code = e.getTrailers() == null ? null : e.getTrailers().get(FuxiTrailers.ERROR_CODE);
    return ChangeError.newBuilder()
        .setChange(change)
        .setRole(role)
        .setCode(code != null ? code : e.getStatus().getCode().name())
        .setMessage(String.valueOf(e.getStatus().getDescription()))
        .build();
  }
}
