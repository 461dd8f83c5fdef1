package org.apsara.nuwa.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.cluster.Member;
import io.etcd.jetcd.common.exception.CompactedException;
import io.etcd.jetcd.election.CampaignResponse;
import io.etcd.jetcd.election.LeaderKey;
import io.etcd.jetcd.election.LeaderResponse;
import io.etcd.jetcd.election.NoLeaderException;
import io.etcd.jetcd.election.NotLeaderException;
import io.etcd.jetcd.kv.DeleteResponse;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.lease.LeaseKeepAliveResponse;
import io.etcd.jetcd.lease.LeaseTimeToLiveResponse;
import io.etcd.jetcd.lock.LockResponse;
import io.etcd.jetcd.maintenance.StatusResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.LeaseOption;
import io.etcd.jetcd.options.PutOption;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.support.CloseableClient;
import io.etcd.jetcd.watch.WatchEvent;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.apsara.nuwa.server.grpc.ServerContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * etcd's own Java client, jetcd, unchanged, against a 3-member Nuwa group: applications written
 * for etcd must work against Nuwa without a change, including jetcd's Lock and Election clients,
 * which call Nuwa's v3lock and v3election services.
 */
class JetcdCompatibilityTest {
  /** Longest wait for any one call; generous, as the machine is shared. */
  private static final long CALL_TIMEOUT_SECONDS = 15;
  /** How long a call that must block (a second lock or campaign) is watched not to finish. */
  private static final Duration STAYS_BLOCKED = Duration.ofMillis(1500);

  @TempDir static Path dir;
  static NuwaTestCluster cluster;
  static Client client;

  @BeforeAll
  static void start() {
    cluster = NuwaTestCluster.start(dir, 3);
    client = newClient();
  }

  @AfterAll
  static void stop() {
    if (client != null) {
      client.close();
    }
    if (cluster != null) {
      cluster.close();
    }
  }

  private static Client newClient() {
    return Client.builder()
        .endpoints(cluster.endpoints().stream().map(e -> "http://" + e).toArray(String[]::new))
        .build();
  }

  private static ByteSequence bytes(String s) {
    return ByteSequence.from(s, StandardCharsets.UTF_8);
  }

  private static String text(ByteSequence b) {
    return b.toString(StandardCharsets.UTF_8);
  }

  private static <T> T get(CompletableFuture<T> future) throws Exception {
    return future.get(CALL_TIMEOUT_SECONDS, TimeUnit.SECONDS);
  }

  private static long put(String key, String value) throws Exception {
    return get(client.getKVClient().put(bytes(key), bytes(value))).getHeader().getRevision();
  }

  private static List<String> keys(GetResponse response) {
    return response.getKvs().stream().map(kv -> text(kv.getKey())).toList();
  }

  // ------------------------------------------------------------------ KV

  @Test
  void getWithPrefixLimitSortRevisionKeysOnlyAndCountOnly() throws Exception {
    long first = put("kv/a", "1");
    put("kv/b", "2");
    put("kv/c", "3");
    put("kv/d", "4");
    put("kv/a", "1b");
    put("kv0", "outside the prefix");
    var kv = client.getKVClient();

    GetResponse all = get(kv.get(bytes("kv/"), GetOption.builder().isPrefix(true).build()));
    assertThat(keys(all)).containsExactly("kv/a", "kv/b", "kv/c", "kv/d");
    assertThat(all.getCount()).isEqualTo(4);
    assertThat(all.isMore()).isFalse();
    KeyValue a = all.getKvs().get(0);
    assertThat(text(a.getValue())).isEqualTo("1b");
    assertThat(a.getCreateRevision()).isEqualTo(first);
    assertThat(a.getVersion()).isEqualTo(2);
    assertThat(a.getModRevision()).isGreaterThan(first);

    GetResponse limited = get(kv.get(bytes("kv/"), GetOption.builder().isPrefix(true)
        .withLimit(2).build()));
    assertThat(keys(limited)).containsExactly("kv/a", "kv/b");
    assertThat(limited.isMore()).isTrue();
    assertThat(limited.getCount()).as("count ignores the limit").isEqualTo(4);

    GetResponse descending = get(kv.get(bytes("kv/"), GetOption.builder().isPrefix(true)
        .withSortField(GetOption.SortTarget.KEY).withSortOrder(GetOption.SortOrder.DESCEND)
        .withLimit(3).build()));
    assertThat(keys(descending)).containsExactly("kv/d", "kv/c", "kv/b");

    GetResponse byModRevision = get(kv.get(bytes("kv/"), GetOption.builder().isPrefix(true)
        .withSortField(GetOption.SortTarget.MOD).withSortOrder(GetOption.SortOrder.DESCEND)
        .build()));
    assertThat(keys(byModRevision)).containsExactly("kv/a", "kv/d", "kv/c", "kv/b");

    GetResponse atFirst = get(kv.get(bytes("kv/"), GetOption.builder().isPrefix(true)
        .withRevision(first).build()));
    assertThat(keys(atFirst)).containsExactly("kv/a");
    assertThat(text(atFirst.getKvs().get(0).getValue())).isEqualTo("1");

    GetResponse keysOnly = get(kv.get(bytes("kv/"), GetOption.builder().isPrefix(true)
        .withKeysOnly(true).build()));
    assertThat(keys(keysOnly)).containsExactly("kv/a", "kv/b", "kv/c", "kv/d");
    assertThat(keysOnly.getKvs()).allSatisfy(k -> assertThat(k.getValue().isEmpty()).isTrue());

    GetResponse countOnly = get(kv.get(bytes("kv/"), GetOption.builder().isPrefix(true)
        .withCountOnly(true).build()));
    assertThat(countOnly.getKvs()).isEmpty();
    assertThat(countOnly.getCount()).isEqualTo(4);

    // A serializable read is answered by whichever member the client picked, from its own
    // applied state: it may lag for a moment, but it converges and never shows a wrong value.
    await().atMost(Duration.ofSeconds(CALL_TIMEOUT_SECONDS)).untilAsserted(() -> {
      GetResponse serializable = get(kv.get(bytes("kv/b"),
          GetOption.builder().withSerializable(true).build()));
      assertThat(serializable.getKvs()).singleElement()
          .satisfies(k -> assertThat(text(k.getValue())).isEqualTo("2"));
    });
  }

  @Test
  void deleteReturnsPreviousValues() throws Exception {
    put("del/x", "1");
    put("del/y", "2");
    put("del/z", "3");
    var kv = client.getKVClient();
    DeleteResponse one = get(kv.delete(bytes("del/x"), DeleteOption.builder().withPrevKV(true)
        .build()));
    assertThat(one.getDeleted()).isEqualTo(1);
    assertThat(one.getPrevKvs()).singleElement()
        .satisfies(k -> assertThat(text(k.getValue())).isEqualTo("1"));

    DeleteResponse rest = get(kv.delete(bytes("del/"), DeleteOption.builder().isPrefix(true)
        .withPrevKV(true).build()));
    assertThat(rest.getDeleted()).isEqualTo(2);
    assertThat(rest.getPrevKvs().stream().map(k -> text(k.getKey())).toList())
        .containsExactly("del/y", "del/z");

    DeleteResponse none = get(kv.delete(bytes("del/x")));
    assertThat(none.getDeleted()).isZero();
    assertThat(get(kv.get(bytes("del/"), GetOption.builder().isPrefix(true).build())).getCount())
        .isZero();
  }

  @Test
  void txnComparesValueVersionAndModRevision() throws Exception {
    long revision = put("txn/k", "v1");
    var kv = client.getKVClient();

    TxnResponse byValue = get(kv.txn()
        .If(new Cmp(bytes("txn/k"), Cmp.Op.EQUAL, CmpTarget.value(bytes("v1"))))
        .Then(Op.put(bytes("txn/k"), bytes("v2"), PutOption.DEFAULT),
            Op.get(bytes("txn/k"), GetOption.DEFAULT))
        .Else(Op.put(bytes("txn/else"), bytes("wrong"), PutOption.DEFAULT))
        .commit());
    assertThat(byValue.isSucceeded()).isTrue();
    assertThat(byValue.getPutResponses()).hasSize(1);
    // The get in the same transaction sees the put before it.
    assertThat(text(byValue.getGetResponses().get(0).getKvs().get(0).getValue())).isEqualTo("v2");

    TxnResponse byVersion = get(kv.txn()
        .If(new Cmp(bytes("txn/k"), Cmp.Op.GREATER, CmpTarget.version(5)))
        .Then(Op.put(bytes("txn/k"), bytes("wrong"), PutOption.DEFAULT))
        .Else(Op.put(bytes("txn/else"), bytes("version was 2"), PutOption.DEFAULT),
            Op.delete(bytes("txn/missing"), DeleteOption.DEFAULT))
        .commit());
    assertThat(byVersion.isSucceeded()).isFalse();
    assertThat(byVersion.getDeleteResponses().get(0).getDeleted()).isZero();
    assertThat(text(get(kv.get(bytes("txn/else"))).getKvs().get(0).getValue()))
        .isEqualTo("version was 2");

    // The first put's mod revision is stale now: the transaction must take the else branch.
    TxnResponse staleModRevision = get(kv.txn()
        .If(new Cmp(bytes("txn/k"), Cmp.Op.EQUAL, CmpTarget.modRevision(revision)))
        .Then(Op.put(bytes("txn/k"), bytes("wrong"), PutOption.DEFAULT))
        .commit());
    assertThat(staleModRevision.isSucceeded()).isFalse();

    long current = get(kv.get(bytes("txn/k"))).getKvs().get(0).getModRevision();
    TxnResponse freshModRevision = get(kv.txn()
        .If(new Cmp(bytes("txn/k"), Cmp.Op.EQUAL, CmpTarget.modRevision(current)),
            new Cmp(bytes("txn/k"), Cmp.Op.LESS, CmpTarget.version(3)))
        .Then(Op.put(bytes("txn/k"), bytes("v3"), PutOption.DEFAULT))
        .commit());
    assertThat(freshModRevision.isSucceeded()).isTrue();
    KeyValue after = get(kv.get(bytes("txn/k"))).getKvs().get(0);
    assertThat(text(after.getValue())).isEqualTo("v3");
    assertThat(after.getVersion()).isEqualTo(3);
  }

  // ------------------------------------------------------------------ compaction

  @Test
  void readingACompactedRevisionFailsAndAWatchFromItGetsCompactedException() throws Exception {
    long old = put("compact/k", "1");
    long kept = put("compact/k", "2");
    put("compact/k", "3");
    var kv = client.getKVClient();
    get(kv.compact(kept));

    Throwable failure = catchThrowable(() -> get(kv.get(bytes("compact/k"),
        GetOption.builder().withRevision(old).build())));
    // jetcd's KV client hands the gRPC status through as it is.
    assertThat(failure).isInstanceOf(ExecutionException.class);
    assertThat(Status.fromThrowable(failure.getCause()).getCode())
        .isEqualTo(Status.Code.OUT_OF_RANGE);
    assertThat(Status.fromThrowable(failure.getCause()).getDescription())
        .isEqualTo("etcdserver: mvcc: required revision has been compacted");

    // The compaction revision itself stays readable.
    assertThat(text(get(kv.get(bytes("compact/k"), GetOption.builder().withRevision(kept)
        .build())).getKvs().get(0).getValue())).isEqualTo("2");

    AtomicReference<Throwable> watchError = new AtomicReference<>();
    List<WatchEvent> events = new CopyOnWriteArrayList<>();
    try (Watch.Watcher watcher = client.getWatchClient().watch(bytes("compact/k"),
        WatchOption.builder().withRevision(old).build(),
        Watch.listener(r -> events.addAll(r.getEvents()), watchError::set))) {
      await().atMost(Duration.ofSeconds(CALL_TIMEOUT_SECONDS))
          .untilAsserted(() -> assertThat(watchError.get()).isNotNull());
      assertThat(watchError.get()).isInstanceOf(CompactedException.class);
      assertThat(((CompactedException) watchError.get()).getCompactedRevision()).isEqualTo(kept);
      assertThat(events).as("no event from the compacted history").isEmpty();
    }
  }

  // ------------------------------------------------------------------ watch

  @Test
  void watchReplaysHistoryThenDeliversLiveEventsWithPreviousValues() throws Exception {
    long start = put("watch/a", "1");
    put("watch/a", "2");
    get(client.getKVClient().delete(bytes("watch/a")));
    put("watchers-not-in-prefix", "x");

    List<WatchEvent> events = new CopyOnWriteArrayList<>();
    List<Throwable> errors = new CopyOnWriteArrayList<>();
    try (Watch.Watcher watcher = client.getWatchClient().watch(bytes("watch/"),
        WatchOption.builder().isPrefix(true).withPrevKV(true).withRevision(start).build(),
        Watch.listener(r -> events.addAll(r.getEvents()), errors::add))) {
      await().atMost(Duration.ofSeconds(CALL_TIMEOUT_SECONDS))
          .untilAsserted(() -> assertThat(events).hasSize(3));
      long live = put("watch/b", "live");
      await().atMost(Duration.ofSeconds(CALL_TIMEOUT_SECONDS))
          .untilAsserted(() -> assertThat(events).hasSize(4));

      assertThat(events.stream().map(e -> e.getEventType() + " " + text(e.getKeyValue().getKey())
          + "=" + text(e.getKeyValue().getValue()) + " prev=" + text(e.getPrevKV().getValue()))
          .toList()).containsExactly(
              "PUT watch/a=1 prev=",
              "PUT watch/a=2 prev=1",
              "DELETE watch/a= prev=2",
              "PUT watch/b=live prev=");
      assertThat(events.get(0).getKeyValue().getModRevision()).isEqualTo(start);
      assertThat(events.get(3).getKeyValue().getModRevision()).isEqualTo(live);
      List<Long> revisions = events.stream().map(e -> e.getKeyValue().getModRevision()).toList();
      assertThat(revisions).isSorted().doesNotHaveDuplicates();
      assertThat(errors).isEmpty();
    }
  }

  // ------------------------------------------------------------------ lease

  @Test
  void leaseKeepAliveTimeToLiveAndRevoke() throws Exception {
    var lease = client.getLeaseClient();
    long ttl = 2;
    long id = get(lease.grant(ttl)).getID();
    get(client.getKVClient().put(bytes("lease/k"), bytes("v"),
        PutOption.builder().withLeaseId(id).build()));

    List<LeaseKeepAliveResponse> renewals = new CopyOnWriteArrayList<>();
    List<Throwable> errors = new CopyOnWriteArrayList<>();
    try (CloseableClient keepAlive = lease.keepAlive(id, new StreamObserver<>() {
      @Override
      public void onNext(LeaseKeepAliveResponse value) {
        renewals.add(value);
      }

      @Override
      public void onError(Throwable t) {
        errors.add(t);
      }

      @Override
      public void onCompleted() {}
    })) {
      // Twice the TTL with keep-alives running: the key must be there the whole time.
      await().during(Duration.ofSeconds(2 * ttl)).atMost(Duration.ofSeconds(2 * ttl + 5))
          .pollInterval(Duration.ofMillis(250))
          .until(() -> get(client.getKVClient().get(bytes("lease/k"))).getCount() == 1);
      assertThat(renewals).isNotEmpty();
      assertThat(renewals).allSatisfy(r -> {
        assertThat(r.getID()).isEqualTo(id);
        assertThat(r.getTTL()).isEqualTo(ttl);
      });
      assertThat(errors).isEmpty();

      LeaseTimeToLiveResponse alive = get(lease.timeToLive(id,
          LeaseOption.builder().withAttachedKeys().build()));
      assertThat(alive.getGrantedTTL()).isEqualTo(ttl);
      assertThat(alive.getTTL()).isBetween(1L, ttl);
      assertThat(alive.getKeys().stream().map(JetcdCompatibilityTest::text).toList())
          .containsExactly("lease/k");
    }

    get(lease.revoke(id));
    assertThat(get(client.getKVClient().get(bytes("lease/k"))).getCount()).isZero();
  }

  @Test
  void timeToLiveOfALeaseThatIsGoneIsMinusOneNotAnError() throws Exception {
    var lease = client.getLeaseClient();
    long id = get(lease.grant(30)).getID();
    get(lease.revoke(id));
    // etcd's LeaseTimeToLive answers a lease that does not exist (expired, revoked, never
    // granted) with TTL -1 and no error; clients and etcdctl ("lease ... already expired")
    // rely on that answer.
    LeaseTimeToLiveResponse gone = get(lease.timeToLive(id, LeaseOption.DEFAULT));
    assertThat(gone.getID()).isEqualTo(id);
    assertThat(gone.getTTL()).isEqualTo(-1);
  }

  // ------------------------------------------------------------------ lock

  @Test
  void lockBlocksASecondHolderUntilUnlocked() throws Exception {
    try (Client other = newClient()) {
      long leaseA = get(client.getLeaseClient().grant(30)).getID();
      long leaseB = get(other.getLeaseClient().grant(30)).getID();
      LockResponse held = get(client.getLockClient().lock(bytes("jlock"), leaseA));
      assertThat(text(held.getKey())).startsWith("jlock/");
      assertThat(get(client.getKVClient().get(held.getKey())).getKvs()).singleElement()
          .satisfies(kv -> assertThat(kv.getLease()).isEqualTo(leaseA));

      CompletableFuture<LockResponse> waiting = other.getLockClient().lock(bytes("jlock"), leaseB);
      await().during(STAYS_BLOCKED).atMost(STAYS_BLOCKED.plusSeconds(2))
          .until(() -> !waiting.isDone());

      get(client.getLockClient().unlock(held.getKey()));
      LockResponse next = get(waiting);
      assertThat(next.getKey()).isNotEqualTo(held.getKey());
      assertThat(text(next.getKey())).startsWith("jlock/");
      assertThat(get(client.getKVClient().get(held.getKey())).getCount()).isZero();
      get(other.getLockClient().unlock(next.getKey()));
      get(client.getLeaseClient().revoke(leaseA));
      get(other.getLeaseClient().revoke(leaseB));
    }
  }

  @Test
  void lockGivesMutualExclusionToTwoClients() throws Exception {
    int rounds = 8;
    put("jcounter", "0");
    AtomicInteger holders = new AtomicInteger();
    AtomicInteger overlaps = new AtomicInteger();
    ExecutorService threads = Executors.newFixedThreadPool(2);
    List<Client> clients = List.of(newClient(), newClient());
    try {
      List<Future<Void>> done = new ArrayList<>();
      for (Client c : clients) {
        done.add(threads.submit(() -> {
          long lease = get(c.getLeaseClient().grant(30)).getID();
          for (int i = 0; i < rounds; i++) {
            ByteSequence key = get(c.getLockClient().lock(bytes("jcounter-lock"), lease)).getKey();
            if (holders.incrementAndGet() != 1) {
              overlaps.incrementAndGet();
            }
            // An unguarded read-modify-write: it loses updates unless the lock excludes.
            GetResponse read = get(c.getKVClient().get(bytes("jcounter")));
            int value = Integer.parseInt(text(read.getKvs().get(0).getValue()));
            get(c.getKVClient().put(bytes("jcounter"), bytes(Integer.toString(value + 1))));
            holders.decrementAndGet();
            get(c.getLockClient().unlock(key));
          }
          get(c.getLeaseClient().revoke(lease));
          return null;
        }));
      }
      for (Future<Void> f : done) {
        f.get(60, TimeUnit.SECONDS);
      }
    } finally {
      threads.shutdownNow();
      clients.forEach(Client::close);
    }
    assertThat(overlaps.get()).as("times two clients held the lock at once").isZero();
    assertThat(text(get(client.getKVClient().get(bytes("jcounter"))).getKvs().get(0).getValue()))
        .isEqualTo(Integer.toString(2 * rounds));
  }

  // ------------------------------------------------------------------ election

  @Test
  void electionCampaignLeaderObserveProclaimAndResign() throws Exception {
    ByteSequence name = bytes("jelection");
    try (Client other = newClient(); Client observerClient = newClient()) {
      long leaseA = get(client.getLeaseClient().grant(30)).getID();
      long leaseB = get(other.getLeaseClient().grant(30)).getID();

      CampaignResponse alice = get(client.getElectionClient().campaign(name, leaseA,
          bytes("alice")));
      LeaderKey aliceKey = alice.getLeader();
      assertThat(text(aliceKey.getName())).isEqualTo("jelection");
      assertThat(aliceKey.getLease()).isEqualTo(leaseA);
      assertThat(leaderValue(name)).isEqualTo("alice");

      List<String> observed = new CopyOnWriteArrayList<>();
      List<Throwable> observeErrors = new CopyOnWriteArrayList<>();
      observerClient.getElectionClient().observe(name, new io.etcd.jetcd.Election.Listener() {
        @Override
        public void onNext(LeaderResponse response) {
          observed.add(text(response.getKv().getValue()));
        }

        @Override
        public void onError(Throwable throwable) {
          observeErrors.add(throwable);
        }

        @Override
        public void onCompleted() {}
      });
      await().atMost(Duration.ofSeconds(CALL_TIMEOUT_SECONDS))
          .untilAsserted(() -> assertThat(observed).contains("alice"));

      CompletableFuture<CampaignResponse> bob = other.getElectionClient().campaign(name, leaseB,
          bytes("bob"));
      await().during(STAYS_BLOCKED).atMost(STAYS_BLOCKED.plusSeconds(2))
          .until(() -> !bob.isDone());

      get(client.getElectionClient().proclaim(aliceKey, bytes("alice-2")));
      assertThat(leaderValue(name)).isEqualTo("alice-2");
      await().atMost(Duration.ofSeconds(CALL_TIMEOUT_SECONDS))
          .untilAsserted(() -> assertThat(observed).contains("alice-2"));

      get(client.getElectionClient().resign(aliceKey));
      LeaderKey bobKey = get(bob).getLeader();
      assertThat(bobKey.getLease()).isEqualTo(leaseB);
      assertThat(leaderValue(name)).isEqualTo("bob");
      await().atMost(Duration.ofSeconds(CALL_TIMEOUT_SECONDS))
          .untilAsserted(() -> assertThat(observed).endsWith("bob"));
      assertThat(observed).containsSubsequence("alice", "alice-2", "bob");

      // Alice no longer leads: proclaiming with her old key must fail as etcd's does.
      Throwable stale = catchThrowable(() -> get(client.getElectionClient().proclaim(aliceKey,
          bytes("usurper"))));
      assertThat(stale).isInstanceOf(ExecutionException.class)
          .hasCauseInstanceOf(NotLeaderException.class);

      get(other.getElectionClient().resign(bobKey));
      Throwable none = catchThrowable(() -> get(client.getElectionClient().leader(name)));
      assertThat(none).isInstanceOf(ExecutionException.class)
          .hasCauseInstanceOf(NoLeaderException.class);
      assertThat(observeErrors).isEmpty();
      get(client.getLeaseClient().revoke(leaseA));
      get(other.getLeaseClient().revoke(leaseB));
    }
  }

  private static String leaderValue(ByteSequence name) throws Exception {
    return text(get(client.getElectionClient().leader(name)).getKv().getValue());
  }

  // ------------------------------------------------------------------ cluster and maintenance

  @Test
  void memberListNamesEveryMemberWithItsClientUrl() throws Exception {
    List<Member> members = get(client.getClusterClient().listMember()).getMembers();
    assertThat(members).hasSize(3);
    Set<String> names = new HashSet<>();
    for (Member member : members) {
      names.add(member.getName());
      assertThat(member.getId()).isEqualTo(ServerContext.memberId(member.getName()));
      assertThat(member.getPeerURIs()).isNotEmpty();
      assertThat(member.isLearner()).isFalse();
    }
    assertThat(names).containsExactlyInAnyOrder("n1", "n2", "n3");
    for (int i = 0; i < 3; i++) {
      String name = "n" + (i + 1);
      URI expected = URI.create("http://" + cluster.endpoint(i));
      // A member publishes its client URL through the log just after it starts.
      await().atMost(Duration.ofSeconds(CALL_TIMEOUT_SECONDS)).untilAsserted(() ->
          assertThat(get(client.getClusterClient().listMember()).getMembers().stream()
              .filter(m -> m.getName().equals(name)).findFirst().orElseThrow().getClientURIs())
              .containsExactly(expected));
    }
  }

  @Test
  void statusOfEveryMemberNamesTheSameLeader() throws Exception {
    Set<Long> memberIds = new HashSet<>();
    for (int i = 0; i < 3; i++) {
      memberIds.add(ServerContext.memberId("n" + (i + 1)));
    }
    // A follower learns who leads from the leader's first heartbeat after an election, and on
    // this shared machine an election may happen at any time: wait for one agreed answer.
    await().atMost(Duration.ofSeconds(2 * CALL_TIMEOUT_SECONDS)).untilAsserted(() -> {
      Set<Long> leaders = new HashSet<>();
      for (int i = 0; i < 3; i++) {
        StatusResponse status = get(client.getMaintenanceClient()
            .statusMember("http://" + cluster.endpoint(i)));
        assertThat(status.getVersion()).isEqualTo(NuwaVersion.ETCD_API_VERSION);
        assertThat(status.getHeader().getMemberId())
            .isEqualTo(ServerContext.memberId("n" + (i + 1)));
        assertThat(status.getRaftIndex()).isPositive();
        assertThat(status.getRaftTerm()).isPositive();
        assertThat(status.isLearner()).isFalse();
        leaders.add(status.getLeader());
      }
      assertThat(leaders).singleElement().isIn(memberIds);
    });
  }
}
