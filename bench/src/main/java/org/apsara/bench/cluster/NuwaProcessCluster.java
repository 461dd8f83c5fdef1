package org.apsara.bench.cluster;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.AuthEnableRequest;
import io.etcd.jetcd.api.AuthGrpc;
import io.etcd.jetcd.api.AuthRoleAddRequest;
import io.etcd.jetcd.api.AuthRoleGrantPermissionRequest;
import io.etcd.jetcd.api.AuthUserAddRequest;
import io.etcd.jetcd.api.AuthUserGrantRoleRequest;
import io.etcd.jetcd.api.Permission;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.StringJoiner;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apsara.common.net.FreePorts;

/**
 * A Nuwa cluster of {@code size} members, each a JVM running the {@code apsara} command line's
 * {@code run nuwa} on this JVM's class path, on free 127.0.0.1 ports with its own data directory.
 *
 * <p>How a member is launched (main class and arguments) is kept in this one class. {@link #start}
 * returns once every member has served a linearizable Range request, the same readiness test as
 * for etcd. Not thread-safe; {@link #close()} kills every member and deletes the directory.
 */
public final class NuwaProcessCluster extends LocalCluster {
  /** The display name used in messages and reports. */
  public static final String SYSTEM = "Nuwa";

  /** The display name of a cluster with authentication on. */
  public static final String SYSTEM_WITH_AUTH = "Nuwa (auth)";

  /** The user {@link #enableAuthentication} creates for the benchmark's clients. */
  public static final String BENCH_USER = "bench";

  /** How long each call that sets authentication up may take. */
  private static final long AUTH_SETUP_TIMEOUT_SECONDS = 30;

  /** An etcd user name and password; the password never appears in {@code toString}. */
  public record Login(String user, String password) {
    @Override
    public String toString() {
      return "Login[" + user + "]";
    }
  }

  /** The command line's main class; a member runs {@code <MAIN_CLASS> run nuwa ...}. */
  public static final String MAIN_CLASS = "org.apsara.cli.Apsara";


  private NuwaProcessCluster(
      Path directory, List<MemberProcess> members, List<InetSocketAddress> clientAddresses) {
    super(SYSTEM, directory, members, clientAddresses);
  }

  /** Whether the command line that launches members is on this JVM's class path. */
  public static boolean launcherAvailable() {
    return JavaCommand.isOnClassPath(MAIN_CLASS);
  }

  /**
   * The arguments after the main class for member {@code id}: {@code run nuwa --id n1 --peers
   * n1=127.0.0.1:P1,... --data DIR --client-port C}, then {@code memberOptions}.
   */
  static List<String> memberArguments(
      String id, String peers, Path dataDirectory, int clientPort, List<String> memberOptions) {
    List<String> arguments = new ArrayList<>(List.of(
        "run", "nuwa",
        "--id", id,
        "--peers", peers,
        "--data", dataDirectory.toString(),
        "--client-port", Integer.toString(clientPort)));
    arguments.addAll(memberOptions);
    return List.copyOf(arguments);
  }

  /**
   * Turns on etcd authentication, as a production cluster would run: a {@code root} user, and a
   * user {@value #BENCH_USER} whose only role may read and write the keys under {@code prefix},
   * so that every request pays for a token check and a permission check.
   *
   * @return the login of {@value #BENCH_USER}
   */
  public Login enableAuthentication(String prefix) {
    String password = UUID.randomUUID().toString();
    InetSocketAddress first = clientAddresses().get(0);
    ManagedChannel channel = NettyChannelBuilder
        .forAddress(first.getHostString(), first.getPort()).usePlaintext().build();
    try {
      AuthGrpc.AuthBlockingStub auth = AuthGrpc.newBlockingStub(channel)
          .withDeadlineAfter(AUTH_SETUP_TIMEOUT_SECONDS, TimeUnit.SECONDS);
      for (String name : List.of("root", BENCH_USER)) {
        auth.roleAdd(AuthRoleAddRequest.newBuilder().setName(name).build());
        auth.userAdd(AuthUserAddRequest.newBuilder().setName(name).setPassword(password).build());
        auth.userGrantRole(
            AuthUserGrantRoleRequest.newBuilder().setUser(name).setRole(name).build());
      }
      ByteString from = ByteString.copyFromUtf8(prefix);
      auth.roleGrantPermission(AuthRoleGrantPermissionRequest.newBuilder()
          .setName(BENCH_USER)
          .setPerm(Permission.newBuilder()
              .setPermType(Permission.Type.READWRITE).setKey(from).setRangeEnd(prefixEnd(from)))
          .build());
      auth.authEnable(AuthEnableRequest.getDefaultInstance());
    } finally {
      channel.shutdownNow();
    }
    return new Login(BENCH_USER, password);
  }

  /** The end of the range of every key that starts with {@code prefix}. */
  private static ByteString prefixEnd(ByteString prefix) {
    byte[] end = prefix.toByteArray();
    end[end.length - 1]++;
    return ByteString.copyFrom(end);
  }

  static String memberId(int index) {
    return "n" + (index + 1);
  }

  /**
   * Starts {@code size} members and waits until each serves a Range request.
   *
   * @param parentDirectory where the cluster's temporary directory is created
   * @param startupTimeout how long all members together may take to come up
   * @param memberOptions more options of {@code apsara run nuwa} for every member
   * @throws ClusterStartException naming the member and its log if one does not come up, or if the
   *     command line is not on the class path; any member already started is stopped and the
   *     directory deleted
   */
  public static NuwaProcessCluster start(
      int size, Path parentDirectory, Duration startupTimeout, List<String> memberOptions) {
    if (size < 1) {
      throw new IllegalArgumentException("cluster size " + size + " < 1");
    }
    if (!launcherAvailable()) {
      throw new ClusterStartException(
          SYSTEM,
          "the launcher " + MAIN_CLASS + " is not on the class path; run the benchmark through"
              + " the apsara command line (apsara bench nuwa)",
          null,
          null);
    }
    Path directory = TempDirectories.create(parentDirectory, "apsara-bench-nuwa-");
    int[] ports = FreePorts.freePorts(2 * size);
    String host = FreePorts.LOOPBACK.getHostAddress();
    StringJoiner peers = new StringJoiner(",");
    for (int i = 0; i < size; i++) {
      peers.add(memberId(i) + "=" + host + ":" + ports[2 * i + 1]);
    }
    List<MemberProcess> members = new ArrayList<>();
    List<InetSocketAddress> clientAddresses = new ArrayList<>();
    try {
      for (int i = 0; i < size; i++) {
        Path memberDirectory = Files.createDirectories(directory.resolve(memberId(i)));
        int clientPort = ports[2 * i];
        List<String> command =
            JavaCommand.of(
                List.of(),
                MAIN_CLASS,
                memberArguments(
                    memberId(i), peers.toString(), memberDirectory.resolve("data"), clientPort,
                    memberOptions));
        members.add(
            MemberProcess.start(
                SYSTEM + " member " + memberId(i),
                command,
                memberDirectory,
                memberDirectory.resolve("member.log")));
        clientAddresses.add(new InetSocketAddress(host, clientPort));
      }
      try (RangeProbe probe = new RangeProbe(clientAddresses)) {
        StartupWait.untilAllAnswer(SYSTEM, members, startupTimeout, "a Range request", probe);
      }
      return new NuwaProcessCluster(directory, members, clientAddresses);
    } catch (IOException | RuntimeException e) {
      throw StartupWait.abandon(SYSTEM, members, directory, e);
    }
  }
}
