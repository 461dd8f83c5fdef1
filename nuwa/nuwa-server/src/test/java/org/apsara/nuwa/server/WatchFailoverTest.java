package org.apsara.nuwa.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntPredicate;
import org.apsara.nuwa.client.GetOptions;
import org.apsara.nuwa.client.KeyRange;
import org.apsara.nuwa.client.KeyValue;
import org.apsara.nuwa.client.NuwaClient;
import org.apsara.nuwa.client.NuwaException;
import org.apsara.nuwa.client.WatchEvent;
import org.apsara.nuwa.client.WatchListener;
import org.apsara.nuwa.client.WatchOptions;
import org.apsara.nuwa.client.WatchResponse;
import org.apsara.nuwa.client.Watcher;
import org.apsara.nuwa.server.grpc.ServerContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A watch survives losing the member it is connected to, or the leader, while a writer keeps
 * writing: every acknowledged write reaches the watcher exactly once and in revision order, and
 * so does every write whose outcome the writer never learned but which the store has.
 */
class WatchFailoverTest {
  private static final Logger LOG = LoggerFactory.getLogger(WatchFailoverTest.class);
  /** Keys written one after another; each key is written once, so a key names its write. */
  private static final int WRITES = 300;
  /** The victim member is stopped once this many writes were attempted ... */
  private static final int STOP_AT = WRITES / 3;
  /** ... and started again once this many were. */
  private static final int RESTART_AT = 2 * WRITES / 3;
  /** Without this many acknowledged writes the run proves too little. */
  private static final int ACKNOWLEDGED_MIN = WRITES / 2;
  /** Attempts at landing a watch on a member of the wanted kind; the client spreads streams. */
  private static final int PLACEMENT_ATTEMPTS_MAX = 12;
  private static final Duration DELIVERY_TIMEOUT = Duration.ofSeconds(30);
  /** How closely the writer's progress is followed, to stop the member at the planned point. */
  private static final Duration WRITER_POLL = Duration.ofMillis(5);
  private static final String PREFIX = "wf/";
  private static final String DATA = PREFIX + "data/";

  @TempDir Path dir;
  private NuwaTestCluster cluster;
  private final List<NuwaClient> clients = new ArrayList<>();

  @AfterEach
  void stop() {
    clients.forEach(NuwaClient::close);
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  void watcherOnTheLeaderSurvivesTheLeaderStopping() throws Exception {
    run(Placement.ON_LEADER, Victim.LEADER);
  }

  @Test
  void watcherOnAFollowerSurvivesTheLeaderStopping() throws Exception {
    run(Placement.ON_FOLLOWER, Victim.LEADER);
  }

  @Test
  void watcherMovesWhenItsOwnFollowerStops() throws Exception {
    run(Placement.ON_FOLLOWER, Victim.WATCHERS_MEMBER);
  }

  private enum Placement { ON_LEADER, ON_FOLLOWER }

  private enum Victim { LEADER, WATCHERS_MEMBER }

  /** What the watcher saw: every event, and the member that sent each one. */
  private static final class Recording implements WatchListener {
    final List<WatchEvent> events = new CopyOnWriteArrayList<>();
    final List<Long> senders = new CopyOnWriteArrayList<>();
    final List<NuwaException> errors = new CopyOnWriteArrayList<>();

    @Override
    public void onNext(WatchResponse response) {
      for (WatchEvent event : response.events()) {
        events.add(event);
        senders.add(response.header().memberId());
      }
    }

    @Override
    public void onError(NuwaException error) {
      errors.add(error);
    }

    boolean saw(long revision) {
      return events.stream().anyMatch(e -> e.revision() == revision);
    }
  }

  private record PlacedWatch(Watcher watcher, Recording recording, int member) {}

  private void run(Placement placement, Victim victimKind) throws Exception {
    cluster = NuwaTestCluster.start(dir, 3);
    NuwaClient writer = client();
    NuwaClient watching = client();

    PlacedWatch watch = placeWatch(writer, watching, placement);
    int victim = victimKind == Victim.LEADER ? cluster.awaitLeader() : watch.member();
    long victimId = memberId(victim);

    // The writer runs on its own thread so that the member is stopped under writes in flight,
    // whose outcome the writer then may never learn.
    Map<String, Long> acknowledged = new ConcurrentHashMap<>();
    Set<String> unknown = ConcurrentHashMap.newKeySet();
    AtomicInteger attempted = new AtomicInteger();
    ExecutorService writerThread = Executors.newSingleThreadExecutor();
    try {
      Future<?> writes = writerThread.submit(() -> {
        for (int i = 0; i < WRITES; i++) {
          String key = String.format("%s%05d", DATA, i);
          try {
            acknowledged.put(key, writer.kv().put(key, "v" + i).header().revision());
          } catch (NuwaException e) {
            // Timed out or the connection broke: the write may or may not have been applied.
            unknown.add(key);
          }
          attempted.incrementAndGet();
        }
      });
      await().atMost(DELIVERY_TIMEOUT).pollInterval(WRITER_POLL)
          .until(() -> attempted.get() >= STOP_AT || writes.isDone());
      if (victimKind == Victim.LEADER) {
        // Leadership may have moved since the watch was placed on this busy machine.
        victim = cluster.awaitLeader();
        victimId = memberId(victim);
      }
      cluster.stopMember(victim);
      await().atMost(DELIVERY_TIMEOUT).pollInterval(WRITER_POLL)
          .until(() -> attempted.get() >= RESTART_AT || writes.isDone());
      cluster.startMember(victim);
      writes.get(2 * DELIVERY_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    } finally {
      writerThread.shutdownNow();
    }
    LOG.atInfo().addKeyValue("placement", placement).addKeyValue("victim", victim)
        .addKeyValue("watcherMember", watch.member())
        .addKeyValue("acknowledged", acknowledged.size()).addKeyValue("unknown", unknown.size())
        .log("writes done");
    assertThat(acknowledged.size()).as("acknowledged writes (unknown: %s)", unknown.size())
        .isGreaterThanOrEqualTo(ACKNOWLEDGED_MIN);

    // A last write after everything else: once the watcher has it, it has had every change
    // before it, so late duplicates or stragglers would already be in the recording.
    long fence = writer.kv().put(PREFIX + "fence", "end").header().revision();
    Recording seen = watch.recording();
    await().atMost(DELIVERY_TIMEOUT).until(() -> seen.saw(fence) || !seen.errors.isEmpty());
    assertThat(seen.errors).as("the watch must never end by itself").isEmpty();

    List<Long> revisions = seen.events.stream().map(WatchEvent::revision).toList();
    assertThat(revisions).as("revision order, no duplicates").isSorted().doesNotHaveDuplicates();

    Map<String, Long> delivered = new HashMap<>();
    for (WatchEvent event : seen.events) {
      assertThat(event.type()).isEqualTo(WatchEvent.Type.PUT);
      Long earlier = delivered.put(event.kv().keyUtf8(), event.revision());
      assertThat(earlier).as("%s delivered twice", event.kv().keyUtf8()).isNull();
    }
    for (Map.Entry<String, Long> write : acknowledged.entrySet()) {
      assertThat(delivered.get(write.getKey())).as("acknowledged write of %s", write.getKey())
          .isEqualTo(write.getValue());
    }
    // Writes of unknown outcome: the store says which happened; exactly those were delivered.
    Map<String, Long> stored = new HashMap<>();
    for (KeyValue kv : writer.kv().get(KeyRange.prefix(DATA), GetOptions.DEFAULT).kvs()) {
      stored.put(kv.keyUtf8(), kv.modRevision());
    }
    Map<String, Long> deliveredData = new HashMap<>(delivered);
    deliveredData.keySet().removeIf(k -> !k.startsWith(DATA));
    assertThat(deliveredData).isEqualTo(stored);
    assertThat(stored.keySet()).containsAll(acknowledged.keySet());
    for (String key : stored.keySet()) {
      assertThat(acknowledged.containsKey(key) || unknown.contains(key))
          .as("%s is stored but was never written", key).isTrue();
    }

    LOG.atInfo().addKeyValue("senders", new LinkedHashSet<>(seen.senders).stream()
        .map(this::memberIndex).toList()).log("members that sent events, in order");
    if (watch.member() == victim) {
      // The stream's member went away: a stream moves only when it fails, so the fence came
      // from the member it moved to.
      long fenceSender = seen.senders.get(revisions.indexOf(fence));
      assertThat(fenceSender).as("member that sent the last event").isNotEqualTo(victimId);
    }
    watch.watcher().cancel();
  }

  /**
   * Opens a watch on {@link #PREFIX} from the current revision that is served by a member of the
   * wanted kind. Which member serves a stream is the client's choice, so this opens watches until
   * one lands right, learning the serving member from the header of a probe write's event.
   */
  private PlacedWatch placeWatch(NuwaClient writer, NuwaClient watching, Placement placement) {
    for (int attempt = 0; attempt < PLACEMENT_ATTEMPTS_MAX; attempt++) {
      long from = writer.kv().get(PREFIX).header().revision() + 1;
      Recording recording = new Recording();
      Watcher watcher = watching.watch().watch(KeyRange.prefix(PREFIX),
          WatchOptions.builder().startRevision(from).build(), recording);
      long probe = writer.kv().put(PREFIX + "probe/" + attempt, "p").header().revision();
      await().atMost(DELIVERY_TIMEOUT).until(() -> recording.saw(probe));
      long sender = recording.senders.get(recording.senders.size() - 1);
      int member = memberIndex(sender);
      int leader = cluster.awaitLeader();
      IntPredicate wanted = placement == Placement.ON_LEADER ? m -> m == leader : m -> m != leader;
      if (wanted.test(member)) {
        return new PlacedWatch(watcher, recording, member);
      }
      watcher.cancel();
    }
    throw new AssertionError("no watch landed " + placement + " in " + PLACEMENT_ATTEMPTS_MAX
        + " attempts");
  }

  private NuwaClient client() {
    NuwaClient client = NuwaClient.builder().endpoints(cluster.endpoints())
        .requestTimeout(Duration.ofSeconds(5)).build();
    clients.add(client);
    return client;
  }

  private long memberId(int index) {
    return ServerContext.memberId("n" + (index + 1));
  }

  private int memberIndex(long memberId) {
    for (int i = 0; i < cluster.size(); i++) {
      if (memberId(i) == memberId) {
        return i;
      }
    }
    throw new AssertionError("unknown member id " + memberId);
  }
}
