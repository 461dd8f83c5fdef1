package org.apsara.bench.nuwa;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * A running system under test as the workload sees it: a cluster to which client connections can
 * be opened. Owns the cluster; {@link #close()} stops it. Not thread-safe; used by the thread
 * driving the benchmark, while the connections it opens are shared by client threads.
 */
interface KvSystem extends AutoCloseable {
  /** The display name, e.g. {@code "etcd"}. */
  String name();

  /** How many members the cluster has. */
  int memberCount();

  /** Opens a connection to member {@code member} (0-based) for the keys of {@code keys}. */
  KvConnection connect(int member, KeySpace keys) throws Exception;

  /** The index of the current leader, if the system tells; best effort, bounded in time. */
  Optional<Integer> leaderIndex();

  /** What a put is in this system's API, for the report's notes. */
  String putDescription();

  /** What a linearizable get is in this system's API, for the report's notes. */
  String getDescription();

  /** The server version, as precisely as can be found out. */
  String version();

  /**
   * CPU time the members have used so far, together, or empty where the operating system does
   * not report it.
   */
  Optional<Duration> membersCpuTime();

  /**
   * CPU time the members' JIT compilers have used so far, together (zero for members that are
   * not JVMs), or empty where the operating system does not say.
   */
  Optional<Duration> membersCompilerCpuTime();

  /** The log files of the members, for messages. */
  List<String> memberLogs();

  @Override
  void close();
}
