package org.apsara.bench.cluster;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * A cluster of members running as child processes on 127.0.0.1, each with its own temporary data
 * directory. Closing it stops every member and deletes the directory. Once the constructor (or
 * factory) has returned, every member has answered a client request.
 */
public abstract class LocalCluster implements AutoCloseable {
  private final String systemName;
  private final Path directory;
  private final List<MemberProcess> members;
  private final List<InetSocketAddress> clientAddresses;

  protected LocalCluster(String systemName, Path directory, List<MemberProcess> members,
      List<InetSocketAddress> clientAddresses) {
    this.systemName = systemName;
    this.directory = directory;
    this.members = List.copyOf(members);
    this.clientAddresses = List.copyOf(clientAddresses);
  }

  /** The system's display name, e.g. {@code "etcd"}. */
  public final String systemName() {
    return systemName;
  }

  /** The client address of each member, in member order. */
  public final List<InetSocketAddress> clientAddresses() {
    return clientAddresses;
  }

  /** The member processes, in member order. */
  public final List<MemberProcess> members() {
    return members;
  }

  /**
   * CPU time the member processes have used so far, together, or empty where the operating
   * system does not report it.
   */
  public final Optional<Duration> membersCpuTime() {
    return MemberProcess.sum(members, MemberProcess::cpuTime);
  }

  /**
   * CPU time the JIT compilers of the member processes have used so far, together (zero for
   * members that are not JVMs), or empty where the operating system does not say.
   */
  public final Optional<Duration> membersCompilerCpuTime() {
    return MemberProcess.sum(members, MemberProcess::compilerCpuTime);
  }

  /** The temporary directory holding every member's data and log. */
  public final Path directory() {
    return directory;
  }

  /** Stops every member and deletes {@link #directory()}. */
  @Override
  public final void close() {
    try {
      MemberProcess.closeAll(members);
    } finally {
      TempDirectories.deleteRecursively(directory);
    }
  }
}
