package org.apsara.bench.nuwa;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.ClientBuilder;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.maintenance.StatusResponse;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apsara.bench.cluster.LocalCluster;
import org.apsara.bench.cluster.MemberProcess;
import org.apsara.bench.cluster.NuwaProcessCluster;

/**
 * A system speaking the etcd v3 API (etcd itself, or Nuwa), driven through the jetcd client so that
 * both are measured with the same client code. Each connection is one jetcd {@link Client} (one
 * gRPC channel) to one member.
 */
final class JetcdKvSystem implements KvSystem {
  /** Time allowed for one Status request when looking for the leader or the version. */
  static final Duration STATUS_TIMEOUT = Duration.ofSeconds(2);

  private final LocalCluster cluster;
  private final String fixedVersion;
  private final Duration operationTimeout;
  private final Optional<NuwaProcessCluster.Login> login;

  /**
   * @param cluster the running cluster, owned from now on
   * @param fixedVersion the version to report, or null to ask the members' Status
   */
  JetcdKvSystem(LocalCluster cluster, String fixedVersion, Duration operationTimeout) {
    this(cluster, fixedVersion, operationTimeout, Optional.empty());
  }

  /**
   * @param login the user every client authenticates as, when the cluster has authentication on
   *     (the system is then reported as {@link NuwaProcessCluster#SYSTEM_WITH_AUTH})
   */
  JetcdKvSystem(LocalCluster cluster, String fixedVersion, Duration operationTimeout,
      Optional<NuwaProcessCluster.Login> login) {
    this.cluster = cluster;
    this.fixedVersion = fixedVersion;
    this.operationTimeout = operationTimeout;
    this.login = login;
  }

  @Override
  public String name() {
    return login.isPresent() ? NuwaProcessCluster.SYSTEM_WITH_AUTH : cluster.systemName();
  }

  @Override
  public int memberCount() {
    return cluster.clientAddresses().size();
  }

  @Override
  public KvConnection connect(int member, KeySpace keys) {
    InetSocketAddress address = cluster.clientAddresses().get(member);
    return new JetcdConnection(newClient(address), keys, operationTimeout);
  }

  private Client newClient(InetSocketAddress address) {
    ClientBuilder builder = Client.builder()
        .endpoints("http://" + address.getHostString() + ":" + address.getPort());
    login.ifPresent(l -> builder
        .user(ByteSequence.from(l.user(), StandardCharsets.UTF_8))
        .password(ByteSequence.from(l.password(), StandardCharsets.UTF_8)));
    return builder.build();
  }

  @Override
  public Optional<Integer> leaderIndex() {
    List<Long> memberIds = new ArrayList<>();
    long leader = 0;
    for (StatusResponse status : statuses()) {
      if (status == null) {
        return Optional.empty();
      }
      memberIds.add(status.getHeader().getMemberId());
      leader = status.getLeader();
    }
    int index = memberIds.indexOf(leader);
    return index < 0 ? Optional.empty() : Optional.of(index);
  }

  @Override
  public String version() {
    if (fixedVersion != null) {
      return fixedVersion;
    }
    List<StatusResponse> statuses = statuses();
    StatusResponse first = statuses.isEmpty() ? null : statuses.get(0);
    return first == null || first.getVersion().isEmpty()
        ? name() + " (version not reported)"
        : name() + " " + first.getVersion();
  }

  /** The Status of each member in member order, null for a member that did not answer. */
  private List<StatusResponse> statuses() {
    List<StatusResponse> statuses = new ArrayList<>();
    for (InetSocketAddress address : cluster.clientAddresses()) {
      try (Client client = newClient(address)) {
        statuses.add(
            client
                .getMaintenanceClient()
                .statusMember("dns:///" + address.getHostString() + ":" + address.getPort())
                .get(STATUS_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        statuses.add(null);
      } catch (Exception e) {
        // Status is optional for this report: a server without it just has no leader shown.
        statuses.add(null);
      }
    }
    return statuses;
  }

  @Override
  public String putDescription() {
    return login.isPresent()
        ? "Put, with authentication on, by a user whose only role may read and write the"
            + " benchmark's keys (a token and a permission check on every request)"
        : "Put";
  }

  @Override
  public String getDescription() {
    return "linearizable Range (serializable=false)";
  }

  @Override
  public Optional<Duration> membersCpuTime() {
    return cluster.membersCpuTime();
  }

  @Override
  public Optional<Duration> membersCompilerCpuTime() {
    return cluster.membersCompilerCpuTime();
  }

  @Override
  public List<String> memberLogs() {
    return cluster.members().stream().map(MemberProcess::logFile).map(Object::toString).toList();
  }

  @Override
  public void close() {
    cluster.close();
  }

  /** One jetcd client to one member; thread-safe as jetcd's {@link KV} is. */
  private static final class JetcdConnection implements KvConnection {
    private final Client client;
    private final KV kv;
    private final KeySpace keys;
    private final ByteSequence[] keyBytes;
    private final ByteSequence value;
    private final long timeoutNanos;

    JetcdConnection(Client client, KeySpace keys, Duration operationTimeout) {
      this.client = client;
      this.kv = client.getKVClient();
      this.keys = keys;
      this.keyBytes = new ByteSequence[keys.count()];
      for (int i = 0; i < keys.count(); i++) {
        keyBytes[i] = ByteSequence.from(keys.name(i), StandardCharsets.UTF_8);
      }
      this.value = ByteSequence.from(keys.value());
      this.timeoutNanos = operationTimeout.toNanos();
    }

    @Override
    public void create(int key) throws Exception {
      put(key);
    }

    @Override
    public void put(int key) throws Exception {
      await(kv.put(keyBytes[key], value));
    }

    @Override
    public void get(int key) throws Exception {
      // jetcd's default GetOption is linearizable (serializable=false).
      GetResponse response = await(kv.get(keyBytes[key]));
      if (response.getKvs().isEmpty()) {
        throw new IllegalStateException("key " + keys.name(key) + " is missing");
      }
      if (!keys.isValue(response.getKvs().get(0).getValue().getBytes())) {
        throw new IllegalStateException("key " + keys.name(key) + " holds another value");
      }
    }

    private <T> T await(CompletableFuture<T> call) throws Exception {
      try {
        return call.get(timeoutNanos, TimeUnit.NANOSECONDS);
      } catch (TimeoutException | InterruptedException e) {
        // Give up the call so that a slow server does not accumulate abandoned requests.
        call.cancel(true);
        throw e;
      }
    }

    @Override
    public void close() {
      client.close();
    }
  }
}
