package org.apsara.fuxi.tubo;

/**
 * Told about every worker that is gone, exactly once per worker, in the order Tubo saw the exits.
 *
 * <p>Threading: called on the supervisor's single notifier thread, never while the supervisor
 * holds its lock, so a listener may call back into the supervisor (for instance launch a
 * replacement). A slow listener delays later notifications, not the supervision itself. An
 * exception thrown by the listener is logged and swallowed.
 */
@FunctionalInterface
public interface WorkerExitListener {
  void onExit(WorkerExit exit);
}
