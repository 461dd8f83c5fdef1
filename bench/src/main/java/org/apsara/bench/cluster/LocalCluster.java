package org.apsara.bench.cluster;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;

/**
 * A cluster of members running as child processes on 127.0.0.1, each with its own temporary data
 * directory. Closing it stops every member and deletes the directory. Once the constructor (or
 * factory) has returned, every member has answered a client request.
 */
public interface LocalCluster extends AutoCloseable {
  /** The system's display name, e.g. {@code "etcd"}. */
  String systemName();

  /** The client address of each member, in member order. */
  List<InetSocketAddress> clientAddresses();

  /** The member processes, in member order. */
  List<MemberProcess> members();

  /** The temporary directory holding every member's data and log. */
  Path directory();

  /** Stops every member and deletes {@link #directory()}. */
  @Override
  void close();
}
