package org.apsara.nuwa.client.testing;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.apsara.nuwa.client.NuwaClient;

/**
 * The server the client tests run against. Today that is a single-member etcd started once for the
 * whole test run; {@link #endpoints()} is the one place to point the suite at Nuwa instead. Tests
 * skip, visibly, when no etcd is installed.
 */
public final class NuwaTestServer {
  /** Request timeout of test clients: short, so that a broken test fails quickly. */
  public static final Duration TEST_REQUEST_TIMEOUT = Duration.ofSeconds(5);

  private static final AtomicLong NAMESPACES = new AtomicLong();
  private static EtcdProcess shared;

  private NuwaTestServer() {}

  /** Endpoints of the shared server, started on first use and stopped when the JVM exits. */
  public static synchronized List<String> endpoints() {
    assumeEtcdInstalled();
    if (shared == null) {
      EtcdProcess etcd = EtcdProcess.startSingle();
      Runtime.getRuntime().addShutdownHook(new Thread(etcd::close, "stop-test-etcd"));
      shared = etcd;
    }
    return List.of(shared.endpoint());
  }

  /** Skips the calling test unless etcd can be started here. */
  public static void assumeEtcdInstalled() {
    assumeTrue(
        EtcdProcess.binary().isPresent(),
        "etcd is not installed (apt-get install etcd-server); skipping tests that need a server");
  }

  /** A client of the shared server. */
  public static NuwaClient newClient() {
    return NuwaClient.builder().endpoints(endpoints()).requestTimeout(TEST_REQUEST_TIMEOUT).build();
  }

  /** A key prefix no other test uses, so that tests sharing the server do not see each other. */
  public static String uniquePrefix(String name) {
    return "/test/"
        + name
        + "-"
        + ProcessHandle.current().pid()
        + "-"
        + NAMESPACES.incrementAndGet()
        + "/";
  }
}
