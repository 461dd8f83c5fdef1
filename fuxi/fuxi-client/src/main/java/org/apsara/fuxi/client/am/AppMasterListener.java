package org.apsara.fuxi.client.am;

import org.apsara.fuxi.api.v1.ChangeError;
import org.apsara.fuxi.api.v1.Grant;
import org.apsara.fuxi.api.v1.Revoke;
import org.apsara.fuxi.api.v1.WorkerExit;
import org.apsara.fuxi.client.FuxiException;

/**
 * What the master tells an application master, delivered by {@link AppMasterSession} on its one
 * event thread, in the order the master sent it, after the session's {@link AllocationView} has
 * applied it. Callbacks may call the session's change methods ({@code request}, {@code release},
 * ...) but must not block for long (nothing else is delivered meanwhile) and must not call {@link
 * AppMasterSession#finish}, which waits for the event thread. A callback that throws is logged and
 * the session goes on.
 */
public interface AppMasterListener {
  /** Units of a role were granted on a machine: start workers there through its Tubo. */
  default void onGranted(Grant grant) {}

  /** Units were taken back; their Tubo kills as many workers of the role there, newest first. */
  default void onRevoked(Revoke revoke) {}

  /** A worker of this application ended. */
  default void onWorkerExit(WorkerExit exit) {}

  /** The master refused one change (the others of its message were applied). */
  default void onChangeError(ChangeError error) {}

  /**
   * A primary welcomed the session again after the stream was lost; {@code synced} when it had to
   * be told the whole allocation (a new primary).
   */
  default void onReconnected(boolean synced) {}

  /** The application token was renewed; {@link AppMasterSession#token()} answers it already. */
  default void onTokenRenewed(String token) {}

  /**
   * The session ended for good and will not reconnect: a newer attempt took over, the application
   * ended, the token was refused, or no primary welcomed it within the reconnect timeout.
   */
  default void onSessionLost(FuxiException cause) {}
}
