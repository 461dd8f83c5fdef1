package org.apsara.pangu.master.server;

/**
 * Resolves the {@link Caller} of the gRPC call in progress (from its context, once requests are
 * signed). Called on the thread that runs the handler; must be thread-safe.
 */
@FunctionalInterface
public interface CallerResolver {
  Caller resolve();

  /** Every call is the same caller: the configured default owner and group. */
  static CallerResolver fixed(String owner, String group) {
    Caller caller = new Caller(owner, group, "acs:ram::system:user/" + owner);
    return () -> caller;
  }
}
