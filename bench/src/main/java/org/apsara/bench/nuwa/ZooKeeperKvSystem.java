package org.apsara.bench.nuwa;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.client.ZKClientConfig;
import org.apsara.bench.cluster.MemberProcess;
import org.apsara.bench.cluster.ZooKeeperEnsemble;

/**
 * A ZooKeeper ensemble driven through the ZooKeeper Java client. Each connection is one ZooKeeper
 * session (one TCP connection) to one server. Puts are {@code setData} on pre-created znodes;
 * linearizable gets are {@code sync} followed by {@code getData}, because a plain {@code getData}
 * may be served by a lagging follower.
 */
final class ZooKeeperKvSystem implements KvSystem {
  /** Session timeout; long enough that a busy machine does not expire benchmark sessions. */
  static final Duration SESSION_TIMEOUT = Duration.ofSeconds(30);

  private final ZooKeeperEnsemble ensemble;
  private final Duration operationTimeout;

  /** @param ensemble the running ensemble, owned from now on */
  ZooKeeperKvSystem(ZooKeeperEnsemble ensemble, Duration operationTimeout) {
    this.ensemble = ensemble;
    this.operationTimeout = operationTimeout;
  }

  @Override
  public String name() {
    return ensemble.systemName();
  }

  @Override
  public int memberCount() {
    return ensemble.clientAddresses().size();
  }

  @Override
  public KvConnection connect(int member, KeySpace keys) throws Exception {
    InetSocketAddress address = ensemble.clientAddresses().get(member);
    ZKClientConfig config = new ZKClientConfig();
    // Bounds every synchronous call: it fails with a timeout instead of waiting forever.
    config.setProperty(
        ZKClientConfig.ZOOKEEPER_REQUEST_TIMEOUT, Long.toString(operationTimeout.toMillis()));
    config.setProperty(ZKClientConfig.ENABLE_CLIENT_SASL_KEY, "false");
    CountDownLatch connected = new CountDownLatch(1);
    ZooKeeper zooKeeper =
        new ZooKeeper(
            address.getHostString() + ":" + address.getPort(),
            (int) SESSION_TIMEOUT.toMillis(),
            event -> {
              if (event.getState() == Watcher.Event.KeeperState.SyncConnected) {
                connected.countDown();
              }
            },
            config);
    if (!connected.await(operationTimeout.toMillis(), TimeUnit.MILLISECONDS)) {
      zooKeeper.close();
      throw new TimeoutException(
          "no ZooKeeper session with " + address + " within " + operationTimeout.toMillis()
              + " ms");
    }
    return new ZooKeeperConnection(zooKeeper, keys);
  }

  @Override
  public Optional<Integer> leaderIndex() {
    List<InetSocketAddress> addresses = ensemble.clientAddresses();
    for (int i = 0; i < addresses.size(); i++) {
      Optional<String> mode = ZooKeeperEnsemble.mode(addresses.get(i));
      if (mode.isPresent() && (mode.get().equals("leader") || mode.get().equals("standalone"))) {
        return Optional.of(i);
      }
    }
    return Optional.empty();
  }

  @Override
  public String putDescription() {
    return "setData on a pre-created znode";
  }

  @Override
  public String getDescription() {
    return "sync + getData (getData alone is not linearizable; two round trips)";
  }

  @Override
  public String version() {
    return "ZooKeeper " + ZooKeeperEnsemble.version();
  }

  @Override
  public Optional<Duration> membersCpuTime() {
    return ensemble.membersCpuTime();
  }

  @Override
  public Optional<Duration> membersCompilerCpuTime() {
    return ensemble.membersCompilerCpuTime();
  }

  @Override
  public List<String> memberLogs() {
    return ensemble.members().stream().map(MemberProcess::logFile).map(Object::toString).toList();
  }

  @Override
  public void close() {
    ensemble.close();
  }

  /** One ZooKeeper session; the ZooKeeper client is thread-safe and pipelines calls. */
  private static final class ZooKeeperConnection implements KvConnection {
    private final ZooKeeper zooKeeper;
    private final KeySpace keys;
    private final String[] paths;
    private final byte[] value;

    ZooKeeperConnection(ZooKeeper zooKeeper, KeySpace keys) {
      this.zooKeeper = zooKeeper;
      this.keys = keys;
      this.paths = new String[keys.count()];
      for (int i = 0; i < keys.count(); i++) {
        paths[i] = keys.name(i);
      }
      this.value = keys.value();
    }

    @Override
    public void create(int key) throws Exception {
      try {
        createOrSet(paths[key]);
      } catch (KeeperException.NoNodeException missingParent) {
        try {
          zooKeeper.create(
              KeySpace.PARENT, new byte[0], ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        } catch (KeeperException.NodeExistsException createdByAnotherClient) {
          // Another preparing thread created the parent first; that is all that was needed.
        }
        createOrSet(paths[key]);
      }
    }

    private void createOrSet(String path) throws Exception {
      try {
        zooKeeper.create(path, value, ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
      } catch (KeeperException.NodeExistsException exists) {
        zooKeeper.setData(path, value, -1);
      }
    }

    @Override
    public void put(int key) throws Exception {
      zooKeeper.setData(paths[key], value, -1);
    }

    @Override
    public void get(int key) throws Exception {
      // sync makes this server catch up with the leader first, so the read that follows is
      // linearizable, like etcd's default Range.
      zooKeeper.sync(paths[key]);
      byte[] read = zooKeeper.getData(paths[key], false, null);
      if (!keys.isValue(read)) {
        throw new IllegalStateException("znode " + paths[key] + " holds another value");
      }
    }

    @Override
    public void close() {
      try {
        zooKeeper.close();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
