package org.apsara.bench.cluster;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Readiness of an etcd-API member: it is ready once a linearizable Range request through the etcd
 * client succeeds, which needs an elected leader and a caught-up member. Not thread-safe; used by
 * the thread starting a cluster.
 */
final class RangeProbe implements StartupWait.Probe, AutoCloseable {
  /** Time one Range attempt may take before the member is probed again. */
  static final Duration ATTEMPT_TIMEOUT = Duration.ofSeconds(2);

  private static final ByteSequence PROBE_KEY =
      ByteSequence.from("apsara-bench-readiness-probe", StandardCharsets.UTF_8);

  private final List<Client> clients = new ArrayList<>();

  RangeProbe(List<InetSocketAddress> addresses) {
    for (InetSocketAddress address : addresses) {
      clients.add(Client.builder().endpoints(httpEndpoint(address)).build());
    }
  }

  static String httpEndpoint(InetSocketAddress address) {
    return "http://" + address.getHostString() + ":" + address.getPort();
  }

  @Override
  public boolean answers(int memberIndex) throws Exception {
    clients
        .get(memberIndex)
        .getKVClient()
        .get(PROBE_KEY)
        .get(ATTEMPT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    return true;
  }

  @Override
  public void close() {
    clients.forEach(Client::close);
  }
}
