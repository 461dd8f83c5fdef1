package org.apsara.pangu.master.raft;

import org.apsara.pangu.master.namespace.NamespaceException;
import org.apsara.pangu.master.namespace.NamespaceProposer;
import org.apsara.pangu.master.namespace.proto.NamespaceRecord;

/**
 * A client command as the leader turns it into a log record: one call on the proposer, e.g.
 * {@code p -> p.mkdirs("/a/b", 0755, "alice", "staff")}. Called on the leader's one proposer
 * thread (see {@link CommandBatcher}), so it must only call the proposer and return.
 */
@FunctionalInterface
public interface MasterCommand {
  NamespaceRecord propose(NamespaceProposer proposer) throws NamespaceException;
}
