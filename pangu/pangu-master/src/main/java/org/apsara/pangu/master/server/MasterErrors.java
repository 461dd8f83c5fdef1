package org.apsara.pangu.master.server;

import io.grpc.Metadata;
import org.apsara.pangu.api.MasterTrailers;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import org.apsara.common.net.HostPort;
import org.apsara.pangu.master.chunks.NotEnoughChunkServersException;
import org.apsara.pangu.master.namespace.NamespaceErrorCode;
import org.apsara.pangu.master.namespace.NamespaceException;
import org.apsara.pangu.master.raft.MasterUnavailableException;

/**
 * Turns the master's failures into the gRPC statuses and trailers {@code master.proto} promises:
 * the status code by the table in its header, the code name in "x-pangu-error-code", and for a
 * follower the leader's client address in "x-pangu-leader". Immutable and thread-safe.
 */
public final class MasterErrors {
  /** The code of a request the service refuses before it reaches the namespace. */
  public static final String INVALID_ARGUMENT = "INVALID_ARGUMENT";

  private final Map<String, HostPort> clientAddresses;

  /** @param clientAddresses every member's client address, by member id */
  public MasterErrors(Map<String, HostPort> clientAddresses) {
    this.clientAddresses = Map.copyOf(clientAddresses);
  }

  /** The status for any failure of a handler. */
  public StatusRuntimeException toStatus(Throwable failure) {
    Throwable t = unwrap(failure);
    if (t instanceof StatusRuntimeException status) {
      return status;
    }
    if (t instanceof NamespaceException e) {
      return withCode(statusOf(e.code()).withDescription(e.getMessage()), e.code().name(), null);
    }
    if (t instanceof MasterUnavailableException e) {
      Status status = switch (e.reason()) {
        case NOT_LEADER, LEADER_NOT_READY, STOPPED -> Status.UNAVAILABLE;
        case BUSY -> Status.RESOURCE_EXHAUSTED;
        case OUTCOME_UNKNOWN -> Status.UNKNOWN;
      };
      String leader = e.leaderId().map(clientAddresses::get).map(HostPort::format).orElse(null);
      return withCode(status.withDescription(e.getMessage()), e.reason().name(), leader);
    }
    if (t instanceof NotEnoughChunkServersException e) {
      return withCode(Status.RESOURCE_EXHAUSTED.withDescription(e.getMessage()),
          NotEnoughChunkServersException.CODE, null);
    }
    if (t instanceof IllegalArgumentException e) {
      return invalid(e.getMessage());
    }
    return Status.INTERNAL.withDescription(String.valueOf(t)).withCause(t).asRuntimeException();
  }

  /** A refusal with {@code status} and {@code code} in the trailer, outside the namespace's. */
  public static StatusRuntimeException refusal(Status status, String code, String message) {
    return withCode(status.withDescription(code + ": " + message), code, null);
  }

  /** A refusal of a malformed request: INVALID_ARGUMENT with the code in the trailer. */
  public static StatusRuntimeException invalid(String message) {
    return withCode(Status.INVALID_ARGUMENT.withDescription(INVALID_ARGUMENT + ": " + message),
        INVALID_ARGUMENT, null);
  }

  /** The status code of a namespace refusal, by the table in {@code master.proto}. */
  public static Status statusOf(NamespaceErrorCode code) {
    return switch (code) {
      case INVALID_PATH, INVALID_ARGUMENT -> Status.INVALID_ARGUMENT;
      case NOT_FOUND -> Status.NOT_FOUND;
      case ALREADY_EXISTS -> Status.ALREADY_EXISTS;
      case NOT_A_DIRECTORY, IS_A_DIRECTORY, DIRECTORY_NOT_EMPTY, RENAME_INTO_OWN_SUBTREE,
          ROOT_NOT_ALLOWED, LEASE_HELD_BY_OTHER, LEASE_EXPIRED, NOT_LEASE_HOLDER,
          CHUNK_NOT_COMMITTED, CHUNK_MISMATCH -> Status.FAILED_PRECONDITION;
      case NAME_QUOTA_EXCEEDED, SPACE_QUOTA_EXCEEDED, TOO_MANY_OPEN_FILES, FILE_TOO_LARGE ->
          Status.RESOURCE_EXHAUSTED;
      case ID_CONFLICT -> Status.ABORTED;
    };
  }

  private static StatusRuntimeException withCode(Status status, String code, String leader) {
    Metadata trailers = new Metadata();
    trailers.put(MasterTrailers.ERROR_CODE, code);
    if (leader != null) {
      trailers.put(MasterTrailers.LEADER, leader);
    }
    return status.asRuntimeException(trailers);
  }

  private static Throwable unwrap(Throwable failure) {
    Throwable t = failure;
    while ((t instanceof CompletionException || t instanceof ExecutionException)
        && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }
}
