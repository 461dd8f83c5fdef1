package org.apsara.pangu.master.raft;

import java.util.Optional;

/**
 * A command or read this member could not carry out for a reason of the Raft group, not of the
 * namespace: it is not the leader, it is a leader still catching up, or the request's fate is
 * unknown. Immutable.
 */
public final class MasterUnavailableException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** Why the request was not served. */
  public enum Reason {
    /** This member is not the leader; nothing was proposed. Ask {@link #leaderId()}. */
    NOT_LEADER,
    /**
     * This member leads but has not yet applied every entry of earlier terms (or has not yet
     * committed one of its own); nothing was proposed. Retry here shortly.
     */
    LEADER_NOT_READY,
    /**
     * The command was proposed but no reply came: leadership moved, or the request timed out. It
     * may or may not have been applied; a retry must allow for either (a create may then meet
     * its own file). For a read: nothing happened, retry.
     */
    OUTCOME_UNKNOWN,
    /** This member has too much queued already; nothing happened. Retry later. */
    BUSY,
    /** This member is stopping or stopped. */
    STOPPED
  }

  private final Reason reason;
  private final String leaderId;

  public MasterUnavailableException(Reason reason, String leaderId, String message) {
    this(reason, leaderId, message, null);
  }

  public MasterUnavailableException(Reason reason, String leaderId, String message,
      Throwable cause) {
    super(message, cause, false, false);
    this.reason = reason;
    this.leaderId = leaderId;
  }

  public Reason reason() {
    return reason;
  }

  /** The member this one believes leads, if it knows one (it may be itself). */
  public Optional<String> leaderId() {
    return Optional.ofNullable(leaderId);
  }

  /** True when the request certainly had no effect, so any member may be asked again. */
  public boolean nothingHappened() {
    return reason != Reason.OUTCOME_UNKNOWN;
  }

  static MasterUnavailableException notLeader(String self, String leaderId) {
    return new MasterUnavailableException(Reason.NOT_LEADER, leaderId,
        "not leader: member " + self + " is a follower, leader is "
            + (leaderId == null ? "unknown (an election is under way)" : leaderId));
  }

  static MasterUnavailableException leaderNotReady(String self) {
    return new MasterUnavailableException(Reason.LEADER_NOT_READY, self,
        "leader not ready: member " + self + " leads but is still applying the entries of"
            + " earlier terms; retry shortly");
  }
}
