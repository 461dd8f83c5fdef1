package org.apsara.bench.cluster;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.apsara.common.net.FreePorts;

/**
 * A real ZooKeeper ensemble of {@code size} servers, each a separate JVM running {@code
 * org.apache.zookeeper.server.quorum.QuorumPeerMain} on this JVM's class path with a generated
 * {@code zoo.cfg}, on free 127.0.0.1 ports, with its own data directory.
 *
 * <p>Transaction logs are fsynced before a write is acknowledged ({@code forceSync=yes}, the
 * default, written out explicitly), as etcd and Nuwa do. The admin HTTP server is off so nothing
 * listens beyond the client and quorum ports. {@link #start} returns once every server reports a
 * serving mode (leader, follower or standalone). Not thread-safe; {@link #close()} kills every
 * server and deletes the directory.
 */
public final class ZooKeeperEnsemble extends LocalCluster {
  /** The display name used in messages and reports. */
  public static final String SYSTEM = "ZooKeeper";

  /** The server's main class. */
  public static final String MAIN_CLASS = "org.apache.zookeeper.server.quorum.QuorumPeerMain";

  /** ZooKeeper's basic time unit; heartbeats and timeouts are multiples of it. */
  public static final int TICK_TIME_MS = 2000;

  /** Connect and read timeout of one four-letter-word query. */
  public static final Duration FOUR_LETTER_TIMEOUT = Duration.ofSeconds(2);

  /** Largest four-letter-word answer read; {@code srvr} answers a few hundred bytes. */
  public static final int FOUR_LETTER_ANSWER_BYTES_MAX = 64 * 1024;


  private ZooKeeperEnsemble(
      Path directory, List<MemberProcess> members, List<InetSocketAddress> clientAddresses) {
    super(SYSTEM, directory, members, clientAddresses);
  }

  /**
   * Starts {@code size} servers and waits until each is serving.
   *
   * @param parentDirectory where the ensemble's temporary directory is created
   * @param startupTimeout how long all servers together may take to come up
   * @throws ClusterStartException naming the server and its log if one does not come up; any
   *     server already started is stopped and the directory deleted
   */
  public static ZooKeeperEnsemble start(int size, Path parentDirectory, Duration startupTimeout) {
    if (size < 1) {
      throw new IllegalArgumentException("ensemble size " + size + " < 1");
    }
    Path directory = TempDirectories.create(parentDirectory, "apsara-bench-zookeeper-");
    int[] ports = FreePorts.freePorts(3 * size);
    String host = FreePorts.LOOPBACK.getHostAddress();
    List<MemberProcess> members = new ArrayList<>();
    List<InetSocketAddress> clientAddresses = new ArrayList<>();
    try {
      Path logbackConfig = directory.resolve("logback.xml");
      Files.writeString(logbackConfig, LOGBACK_CONFIG, StandardCharsets.UTF_8);
      for (int i = 0; i < size; i++) {
        Path memberDirectory = Files.createDirectories(directory.resolve("zk" + (i + 1)));
        Path dataDirectory = Files.createDirectories(memberDirectory.resolve("data"));
        // QuorumPeerMain reads the server's id from dataDir/myid.
        Files.writeString(dataDirectory.resolve("myid"), Integer.toString(i + 1) + "\n");
        Path config = memberDirectory.resolve("zoo.cfg");
        Files.writeString(config, zooCfg(size, i, host, ports, dataDirectory));
        List<String> command =
            JavaCommand.of(
                List.of(
                    "-Dlogback.configurationFile=" + logbackConfig,
                    "-Dzookeeper.admin.enableServer=false",
                    "-Dzookeeper.jmx.log4j.disable=true"),
                MAIN_CLASS,
                List.of(config.toString()));
        members.add(
            MemberProcess.start(
                SYSTEM + " server " + (i + 1),
                command,
                memberDirectory,
                memberDirectory.resolve("member.log")));
        clientAddresses.add(new InetSocketAddress(host, clientPort(ports, i)));
      }
      StartupWait.untilAllAnswer(
          SYSTEM,
          members,
          startupTimeout,
          "the `srvr` query with a serving mode",
          index -> mode(clientAddresses.get(index)).isPresent());
      return new ZooKeeperEnsemble(directory, members, clientAddresses);
    } catch (IOException | RuntimeException e) {
      throw StartupWait.abandon(SYSTEM, members, directory, e);
    }
  }

  private static int clientPort(int[] ports, int member) {
    return ports[3 * member];
  }

  static String zooCfg(int size, int member, String host, int[] ports, Path dataDirectory) {
    StringBuilder cfg = new StringBuilder();
    cfg.append("tickTime=").append(TICK_TIME_MS).append('\n');
    cfg.append("initLimit=10\n");
    cfg.append("syncLimit=5\n");
    cfg.append("dataDir=").append(dataDirectory).append('\n');
    cfg.append("clientPort=").append(clientPort(ports, member)).append('\n');
    cfg.append("clientPortAddress=").append(host).append('\n');
    // fsync every transaction-log write before acknowledging, like etcd and Nuwa.
    cfg.append("forceSync=yes\n");
    // The benchmark opens up to one session per 16 clients on each server; no per-IP cap.
    cfg.append("maxClientCnxns=0\n");
    cfg.append("admin.enableServer=false\n");
    cfg.append("4lw.commands.whitelist=srvr,ruok\n");
    cfg.append("quorumListenOnAllIPs=false\n");
    if (size > 1) {
      for (int i = 0; i < size; i++) {
        cfg.append("server.")
            .append(i + 1)
            .append('=')
            .append(host)
            .append(':')
            .append(ports[3 * i + 1])
            .append(':')
            .append(ports[3 * i + 2])
            .append('\n');
      }
    }
    return cfg.toString();
  }

  /**
   * The serving mode a server reports through the {@code srvr} four-letter word ({@code leader},
   * {@code follower} or {@code standalone}), or empty while it is not serving or unreachable.
   * Thread-safe.
   */
  public static Optional<String> mode(InetSocketAddress clientAddress) {
    String answer;
    try {
      answer = fourLetterWord(clientAddress, "srvr");
    } catch (IOException e) {
      return Optional.empty();
    }
    return answer
        .lines()
        .filter(line -> line.startsWith("Mode: "))
        .map(line -> line.substring("Mode: ".length()).trim())
        .findFirst();
  }

  private static String fourLetterWord(InetSocketAddress address, String word) throws IOException {
    try (Socket socket = new Socket()) {
      int timeoutMs = (int) FOUR_LETTER_TIMEOUT.toMillis();
      socket.connect(address, timeoutMs);
      socket.setSoTimeout(timeoutMs);
      OutputStream out = socket.getOutputStream();
      out.write(word.getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = socket.getInputStream();
      ByteArrayOutputStream answer = new ByteArrayOutputStream();
      byte[] buffer = new byte[4096];
      int read;
      while ((read = in.read(buffer)) != -1) {
        answer.write(buffer, 0, read);
        if (answer.size() > FOUR_LETTER_ANSWER_BYTES_MAX) {
          throw new IOException("four-letter-word answer longer than "
              + FOUR_LETTER_ANSWER_BYTES_MAX + " bytes");
        }
      }
      return answer.toString(StandardCharsets.UTF_8);
    }
  }

  /** The version of the ZooKeeper library the servers run, e.g. {@code "3.9.5"}. */
  public static String version() {
    // The full version reads "3.9.5-<revision hash>, built on <date>".
    String full = org.apache.zookeeper.Version.getFullVersion();
    int end = full.indexOf('-');
    return end > 0 ? full.substring(0, end) : full;
  }

  /**
   * Logging of the server JVMs: INFO to standard output, which goes to the member's log. Without
   * a configuration Logback logs at DEBUG, which for ZooKeeper means lines per request and would
   * slow the server down.
   */
  private static final String LOGBACK_CONFIG =
      """
      <configuration>
        <appender name="OUT" class="ch.qos.logback.core.ConsoleAppender">
          <encoder><pattern>%d{HH:mm:ss.SSS} %-5level [%thread] %logger{36} - %msg%n</pattern></encoder>
        </appender>
        <root level="INFO"><appender-ref ref="OUT"/></root>
      </configuration>
      """;
}
