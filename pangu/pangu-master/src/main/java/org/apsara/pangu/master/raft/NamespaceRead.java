package org.apsara.pangu.master.raft;

import org.apsara.pangu.master.namespace.Namespace;
import org.apsara.pangu.master.namespace.NamespaceException;

/** A read of the applied namespace, e.g. {@code ns -> ns.getStatus("/a")}. */
@FunctionalInterface
public interface NamespaceRead<T> {
  T read(Namespace namespace) throws NamespaceException;
}
