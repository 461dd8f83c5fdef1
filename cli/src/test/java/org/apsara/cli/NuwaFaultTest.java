package org.apsara.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.Compare;
import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.KeyValue;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.RangeRequest;
import io.etcd.jetcd.api.RangeResponse;
import io.etcd.jetcd.api.RequestOp;
import io.etcd.jetcd.api.TxnRequest;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apsara.nuwa.server.raft.RaftNode;
import org.apsara.testkit.history.CasRegisterModel;
import org.apsara.testkit.history.History;
import org.apsara.testkit.history.LinearizabilityChecker;
import org.apsara.testkit.history.LinearizabilityResult;
import org.apsara.testkit.history.RegisterOp;
import org.apsara.testkit.history.RegisterResult;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Nuwa as separate OS processes under faults: killed leaders, a member cut off from the others,
 * restarts. Clients record every operation; the history must be linearizable (checked against a
 * compare-and-set register per key) and every acknowledged write must survive.
 */
class NuwaFaultTest {
  private static final int CLIENTS = 4;
  private static final List<String> KEYS = List.of("k0", "k1", "k2");
  private static final Duration CLIENT_DEADLINE = Duration.ofSeconds(3);

  @TempDir Path dir;

  @Test
  void historyStaysLinearizableThroughLeaderKillsAndAPartition() throws Exception {
    try (NuwaProcessCluster cluster = NuwaProcessCluster.start(dir, 3);
        Workload workload = new Workload(cluster)) {
      workload.start();
      workload.awaitOk(100);

      int leader = cluster.awaitLeader();
      cluster.kill(leader);
      workload.awaitOk(100); // the survivors elect a leader and carry on
      cluster.start(leader);
      workload.awaitOk(50);

      int isolated = cluster.awaitLeader();
      cluster.isolate(isolated);
      workload.awaitOk(100); // the majority carries on without the old leader
      cluster.heal();
      workload.awaitOk(50);

      int restarted = (cluster.awaitLeader() + 1) % 3;
      cluster.kill(restarted);
      cluster.start(restarted);
      workload.awaitOk(50);
      workload.stop();

      LinearizabilityResult<RegisterOp<String>, RegisterResult<String>> result =
          new LinearizabilityChecker<>(new CasRegisterModel<String>())
              .checkPartitioned(workload.history, RegisterOp::key);
      assertThat(result.verdict())
          .as("%s", result.explain())
          .isEqualTo(LinearizabilityResult.Verdict.LINEARIZABLE);
      assertThat(workload.ok.get()).isGreaterThanOrEqualTo(450);
    }
  }

  @Test
  void anIsolatedMemberNeverServesAStaleRead() throws Exception {
    try (NuwaProcessCluster cluster = NuwaProcessCluster.start(dir, 3)) {
      History<RegisterOp<String>, RegisterResult<String>> history = staleReadScenario(cluster);
      LinearizabilityResult<RegisterOp<String>, RegisterResult<String>> result =
          new LinearizabilityChecker<>(new CasRegisterModel<String>()).check(history);
      assertThat(result.verdict()).as("%s", result.explain())
          .isEqualTo(LinearizabilityResult.Verdict.LINEARIZABLE);
    }
  }

  /**
   * The same scenario with the read index switched off by a failpoint: the isolated member now
   * answers from its own stale state, and the checker must say so. This is what shows that the
   * test above can fail.
   */
  @Test
  void theCheckerCatchesStaleReadsWhenTheReadIndexIsSkipped() throws Exception {
    try (NuwaProcessCluster cluster = NuwaProcessCluster.start(dir, 3,
        "-Dapsara.failpoints=" + RaftNode.FAILPOINT_SKIP_READ_INDEX)) {
      History<RegisterOp<String>, RegisterResult<String>> history = staleReadScenario(cluster);
      LinearizabilityResult<RegisterOp<String>, RegisterResult<String>> result =
          new LinearizabilityChecker<>(new CasRegisterModel<String>()).check(history);
      assertThat(result.verdict()).isEqualTo(LinearizabilityResult.Verdict.NOT_LINEARIZABLE);
      assertThat(result.explain()).contains("read");
    }
  }

  /** Writes v1, cuts a follower off, writes v2 through the majority, then reads at the follower. */
  private static History<RegisterOp<String>, RegisterResult<String>> staleReadScenario(
      NuwaProcessCluster cluster) throws Exception {
    History<RegisterOp<String>, RegisterResult<String>> history = new History<>();
    int leader = cluster.awaitLeader();
    int follower = (leader + 1) % 3;
    try (Client atLeader = new Client(cluster.endpoint(leader));
        Client atFollower = new Client(cluster.endpoint(follower))) {
      record(history, 0, atLeader, new RegisterOp.Write<>("key", "v1"));
      // The follower has applied v1 before it is cut off.
      await().atMost(Duration.ofSeconds(10))
          .until(() -> "v1".equals(atFollower.readSerializable("key")));
      cluster.isolate(follower);
      record(history, 0, atLeader, new RegisterOp.Write<>("key", "v2"));
      record(history, 1, atFollower, new RegisterOp.Read<>("key"));
      cluster.heal();
    }
    return history;
  }

  private static void record(History<RegisterOp<String>, RegisterResult<String>> history,
      int process, Client client, RegisterOp<String> op) {
    History.Op<RegisterOp<String>, RegisterResult<String>> pending = history.invoke(process, op);
    try {
      pending.ok(client.apply(op));
    } catch (StatusRuntimeException e) {
      if (op instanceof RegisterOp.Read) {
        pending.fail();
      } else {
        pending.unknown();
      }
    }
  }

  /** One client connection to one member, speaking the etcd API directly. */
  private static final class Client implements AutoCloseable {
    final ManagedChannel channel;

    Client(String endpoint) {
      channel = NettyChannelBuilder.forTarget(endpoint).usePlaintext().build();
    }

    KVGrpc.KVBlockingStub kv() {
      return KVGrpc.newBlockingStub(channel)
          .withDeadlineAfter(CLIENT_DEADLINE.toMillis(), TimeUnit.MILLISECONDS);
    }

    String readSerializable(String key) {
      RangeResponse response = kv().range(RangeRequest.newBuilder()
          .setKey(ByteString.copyFromUtf8(key)).setSerializable(true).build());
      return response.getKvsCount() == 0 ? null : response.getKvs(0).getValue().toStringUtf8();
    }

    RegisterResult<String> apply(RegisterOp<String> op) {
      ByteString key = ByteString.copyFromUtf8(op.key());
      if (op instanceof RegisterOp.Read<String>) {
        RangeResponse response = kv().range(RangeRequest.newBuilder().setKey(key).build());
        List<KeyValue> kvs = response.getKvsList();
        return RegisterResult.read(kvs.isEmpty() ? null : kvs.get(0).getValue().toStringUtf8());
      }
      if (op instanceof RegisterOp.Write<String> write) {
        kv().put(PutRequest.newBuilder().setKey(key)
            .setValue(ByteString.copyFromUtf8(write.value())).build());
        return RegisterResult.ok();
      }
      RegisterOp.Cas<String> cas = (RegisterOp.Cas<String>) op;
      Compare compare = cas.expected() == null
          ? Compare.newBuilder().setKey(key).setTarget(Compare.CompareTarget.VERSION)
              .setResult(Compare.CompareResult.EQUAL).setVersion(0).build()
          : Compare.newBuilder().setKey(key).setTarget(Compare.CompareTarget.VALUE)
              .setResult(Compare.CompareResult.EQUAL)
              .setValue(ByteString.copyFromUtf8(cas.expected())).build();
      boolean succeeded = kv().txn(TxnRequest.newBuilder().addCompare(compare)
          .addSuccess(RequestOp.newBuilder().setRequestPut(PutRequest.newBuilder().setKey(key)
              .setValue(ByteString.copyFromUtf8(cas.newValue()))))
          .build()).getSucceeded();
      return succeeded ? RegisterResult.ok() : RegisterResult.casFailed();
    }

    @Override
    public void close() throws InterruptedException {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  /**
   * Concurrent clients doing reads, writes and compare-and-sets on a few keys, each pinned to one
   * member at a time and moving to the next member after a failure.
   */
  private static final class Workload implements AutoCloseable {
    final History<RegisterOp<String>, RegisterResult<String>> history = new History<>();
    final AtomicLong ok = new AtomicLong();
    final AtomicBoolean running = new AtomicBoolean(true);
    final AtomicLong nextValue = new AtomicLong();
    final NuwaProcessCluster cluster;
    final List<Thread> threads = new ArrayList<>();

    Workload(NuwaProcessCluster cluster) {
      this.cluster = cluster;
    }

    void start() {
      for (int c = 0; c < CLIENTS; c++) {
        int client = c;
        Thread thread = new Thread(() -> run(client), "workload-" + c);
        thread.setDaemon(true);
        threads.add(thread);
        thread.start();
      }
    }

    void awaitOk(long more) {
      long target = ok.get() + more;
      await().atMost(Duration.ofSeconds(60)).until(() -> ok.get() >= target);
    }

    private void run(int clientIndex) {
      Random random = new Random(clientIndex);
      int process = clientIndex;
      int member = clientIndex % cluster.size();
      String lastSeen = null;
      Client client = new Client(cluster.endpoint(member));
      try {
        while (running.get()) {
          String key = KEYS.get(random.nextInt(KEYS.size()));
          RegisterOp<String> op = switch (random.nextInt(3)) {
            case 0 -> new RegisterOp.Read<>(key);
            case 1 -> new RegisterOp.Write<>(key, "v" + nextValue.incrementAndGet());
            default -> new RegisterOp.Cas<>(key, lastSeen, "v" + nextValue.incrementAndGet());
          };
          History.Op<RegisterOp<String>, RegisterResult<String>> pending =
              history.invoke(process, op);
          try {
            RegisterResult<String> result = client.apply(op);
            pending.ok(result);
            ok.incrementAndGet();
            if (result instanceof RegisterResult.ReadValue<String> read) {
              lastSeen = read.value();
            }
          } catch (StatusRuntimeException e) {
            if (op instanceof RegisterOp.Read) {
              pending.fail();
            } else {
              // It may have taken effect: this process's history ends here; a new one goes on.
              pending.unknown();
              process += CLIENTS;
            }
            client.close();
            member = (member + 1) % cluster.size();
            client = new Client(cluster.endpoint(member));
          }
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } finally {
        try {
          client.close();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    }

    void stop() throws InterruptedException {
      running.set(false);
      for (Thread thread : threads) {
        thread.join(TimeUnit.SECONDS.toMillis(30));
      }
    }

    @Override
    public void close() throws InterruptedException {
      stop();
    }
  }
}
