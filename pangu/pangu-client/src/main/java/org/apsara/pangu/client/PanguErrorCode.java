package org.apsara.pangu.client;

import io.grpc.Status;
import org.apsara.pangu.api.MasterTrailers;

/**
 * Why a Pangu call failed. The first group are the master's codes, carried in the trailer
 * {@value MasterTrailers#ERROR_CODE_NAME} (see {@code master.proto}); every one of them means that
 * the master changed nothing. The last group are the client's own.
 */
public enum PanguErrorCode {
  INVALID_PATH(Status.Code.INVALID_ARGUMENT),
  INVALID_ARGUMENT(Status.Code.INVALID_ARGUMENT),
  NOT_FOUND(Status.Code.NOT_FOUND),
  ALREADY_EXISTS(Status.Code.ALREADY_EXISTS),
  /** A component that must be a directory is a file. */
  NOT_A_DIRECTORY(Status.Code.FAILED_PRECONDITION),
  /** The operation needs a file and the path is a directory. */
  IS_A_DIRECTORY(Status.Code.FAILED_PRECONDITION),
  DIRECTORY_NOT_EMPTY(Status.Code.FAILED_PRECONDITION),
  RENAME_INTO_OWN_SUBTREE(Status.Code.FAILED_PRECONDITION),
  ROOT_NOT_ALLOWED(Status.Code.FAILED_PRECONDITION),
  LEASE_HELD_BY_OTHER(Status.Code.FAILED_PRECONDITION),
  LEASE_EXPIRED(Status.Code.FAILED_PRECONDITION),
  NOT_LEASE_HOLDER(Status.Code.FAILED_PRECONDITION),
  CHUNK_NOT_COMMITTED(Status.Code.FAILED_PRECONDITION),
  CHUNK_MISMATCH(Status.Code.FAILED_PRECONDITION),
  NAME_QUOTA_EXCEEDED(Status.Code.RESOURCE_EXHAUSTED),
  SPACE_QUOTA_EXCEEDED(Status.Code.RESOURCE_EXHAUSTED),
  TOO_MANY_OPEN_FILES(Status.Code.RESOURCE_EXHAUSTED),
  FILE_TOO_LARGE(Status.Code.RESOURCE_EXHAUSTED),
  /** Fewer live chunkservers with room than the replication asks, after the exclusions. */
  NOT_ENOUGH_CHUNKSERVERS(Status.Code.RESOURCE_EXHAUSTED),
  /** A new leader reused an id; nothing changed, the client retries. */
  ID_CONFLICT(Status.Code.ABORTED),
  /** Decommissioning asked of a chunkserver that is not alive. */
  CHUNKSERVER_NOT_ALIVE(Status.Code.FAILED_PRECONDITION),
  /**
   * The chunkserver did not confirm a change of its decommissioning in time; the request stands
   * with the master leader, and asking again waits for it.
   */
  CHUNKSERVER_NOT_CONFIRMED(Status.Code.UNAVAILABLE),

  // The Raft group's codes. The client retries them itself and only shows them once its
  // deadline has passed.
  /** The member is a follower; the trailer {@value MasterTrailers#LEADER_NAME} names the leader. */
  NOT_LEADER(Status.Code.UNAVAILABLE),
  LEADER_NOT_READY(Status.Code.UNAVAILABLE),
  STOPPED(Status.Code.UNAVAILABLE),
  BUSY(Status.Code.RESOURCE_EXHAUSTED),
  /**
   * A change was proposed and its fate is unknown. The client resolves this itself wherever the
   * operation allows (see {@link PanguClient}); otherwise it is shown to the caller, and the
   * change may or may not have happened.
   */
  OUTCOME_UNKNOWN(Status.Code.UNKNOWN),

  // The client's own codes.
  /** No member of the master group answered as leader before the operation's deadline. */
  MASTER_UNAVAILABLE(Status.Code.UNAVAILABLE),
  /** Every replica of a chunk failed a read (the message says how each failed). */
  CHUNK_UNREADABLE(Status.Code.UNAVAILABLE),
  /** A write could not go on: no set of chunkservers could take the data. */
  WRITE_FAILED(Status.Code.UNAVAILABLE),
  /** The caller's policies do not allow the operation (the message names action and resource). */
  PERMISSION_DENIED(Status.Code.PERMISSION_DENIED),
  /**
   * The master refused the call's signature, or the call was not signed and the master requires
   * it; the message says why.
   */
  UNAUTHENTICATED(Status.Code.UNAUTHENTICATED),
  /** A status without a Pangu code; the message has it. */
  UNCLASSIFIED(Status.Code.UNKNOWN);

  private final Status.Code grpcCode;

  PanguErrorCode(Status.Code grpcCode) {
    this.grpcCode = grpcCode;
  }

  /** The gRPC status code the master answers with this code. */
  public Status.Code grpcCode() {
    return grpcCode;
  }

  /** The code named {@code name}, or {@code null} for a name this client does not know. */
  public static PanguErrorCode parse(String name) {
    if (name == null || name.isEmpty()) {
      return null;
    }
    try {
      return valueOf(name);
    } catch (IllegalArgumentException unknown) {
      return null;
    }
  }
}
