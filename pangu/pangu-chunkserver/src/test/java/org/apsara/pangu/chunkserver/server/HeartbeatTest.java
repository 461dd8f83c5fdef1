package org.apsara.pangu.chunkserver.server;

import static org.apsara.pangu.chunkserver.server.ChunkServerFixture.content;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.RandomAccessFile;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.apsara.common.net.HostPort;
import org.apsara.common.time.ManualClock;
import org.apsara.common.time.MonotonicClock;
import org.apsara.pangu.api.v1.HeartbeatRequest;
import org.apsara.pangu.api.v1.ReplicaDeletion;
import org.apsara.pangu.api.v1.ReplicaReport;
import org.apsara.pangu.api.v1.ReplicaState;
import org.apsara.pangu.chunkserver.server.FakeTracker.Answer;
import org.apsara.pangu.chunkserver.store.DecommissionMarker;
import org.apsara.pangu.client.chunkserver.ChunkServerClient;
import org.apsara.pangu.client.chunkserver.ReplicaWriter;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The heartbeat sender against fake master members, one heartbeat at a time ({@code beatOnce}),
 * over a real chunkserver whose replicas are written, sealed and deleted through its service.
 */
class HeartbeatTest {
  private static final int INTERVAL_MS = 1000;
  private static final long GENERATION = 1;

  @TempDir Path directory;
  private ChunkServerFixture fixture;
  private ChunkServer server;
  private ChunkServerClient client;
  private final List<AutoCloseable> closeables = new ArrayList<>();

  @BeforeEach
  void start() throws Exception {
    fixture = new ChunkServerFixture(directory);
    server = fixture.start("cs1", b -> b.rack("/dc1/rack7").advertiseHost("localhost"));
    client = fixture.client(server);
  }

  @AfterEach
  void stop() throws Exception {
    for (int i = closeables.size() - 1; i >= 0; i--) {
      closeables.get(i).close();
    }
    fixture.close();
  }

  private FakeTracker tracker() throws Exception {
    FakeTracker tracker = new FakeTracker(INTERVAL_MS);
    closeables.add(tracker);
    return tracker;
  }

  private HeartbeatSender sender(MonotonicClock clock, HostPort... members) {
    HeartbeatSender sender = new HeartbeatSender(server.reportSource(), server.location(),
        List.of(members),
        member -> NettyChannelBuilder.forAddress(member.host(), member.port()).usePlaintext()
            .build(),
        new ChunkServerMetrics(new SimpleMeterRegistry()), clock, new Random(1));
    closeables.add(sender);
    return sender;
  }

  private void write(long chunk, long offset, int length, boolean create) throws Exception {
    try (ReplicaWriter writer = client.openWriter(chunk, GENERATION, fixture.write(chunk), create,
        offset)) {
      writer.write(ByteBuffer.wrap(content(chunk, offset, length)), true);
      writer.finish(Duration.ofSeconds(30));
    }
  }

  private void delete(long chunk) {
    client.deleteReplicas(List.of(ReplicaDeletion.newBuilder().setChunkId(chunk)
        .setGeneration(GENERATION).setToken(fixture.admin(chunk)).build()));
  }

  private static ReplicaReport report(long chunk, long length, ReplicaState state) {
    return ReplicaReport.newBuilder().setChunkId(chunk).setGeneration(GENERATION)
        .setLength(length).setState(state).build();
  }

  private static ReplicaReport open(long chunk, long length) {
    return report(chunk, length, ReplicaState.REPLICA_STATE_OPEN);
  }

  @Test
  void aDecommissioningAskedForIsKeptOnTheDisksAndReportedAtOnceAndAfterARestart()
      throws Exception {
    FakeTracker master = tracker();
    HeartbeatSender sender = sender(MonotonicClock.SYSTEM, master.address());
    sender.beatOnce();
    assertThat(master.last().getDecommissioning()).isFalse();

    master.answerNext(Answer.decommission(true));
    assertThat(sender.beatOnce()).as("the change is confirmed at once").isZero();
    sender.beatOnce();
    assertThat(master.last().getDecommissioning()).isTrue();
    assertThat(directory.resolve("cs1").resolve("volume")
        .resolve(DecommissionMarker.FILE_NAME)).exists();

    // Asked again (an answer crossing the confirmation): nothing to do, no extra heartbeat.
    master.answerNext(Answer.decommission(true));
    assertThat(sender.beatOnce()).isEqualTo(TimeUnit.MILLISECONDS.toNanos(INTERVAL_MS));

    server.close();
    server = fixture.start("cs1");
    assertThat(server.heartbeatReport().decommissioning()).isTrue();

    server.setDecommissioning(false);
    assertThat(server.heartbeatReport().decommissioning()).isFalse();
    server.close();
    server = fixture.start("cs1");
    assertThat(server.heartbeatReport().decommissioning()).isFalse();
  }

  @Test
  void firstHeartbeatIsFullThenEachIsTheDiffAgainstWhatTheMasterAnswered() throws Exception {
    FakeTracker master = tracker();
    write(1, 0, 5000, true);
    write(2, 0, 7000, true);
    HeartbeatSender sender = sender(MonotonicClock.SYSTEM, master.address());

    assertThat(sender.beatOnce()).isEqualTo(TimeUnit.MILLISECONDS.toNanos(INTERVAL_MS));
    HeartbeatRequest first = master.last();
    assertThat(first.getFullReport()).isTrue();
    assertThat(first.getLocation().getId()).isEqualTo(server.id()).startsWith("cs-");
    assertThat(first.getLocation().getAddress())
        .isEqualTo("localhost:" + server.address().port());
    assertThat(first.getLocation().getRack()).isEqualTo("/dc1/rack7");
    assertThat(first.getReplicasList()).containsExactly(open(1, 5000), open(2, 7000));
    assertThat(first.getVolumesList()).singleElement().satisfies(volume -> {
      assertThat(volume.getDirectory()).endsWith("volume");
      assertThat(volume.getUsedBytes()).isGreaterThanOrEqualTo(12000);
      assertThat(volume.getAvailableBytes()).isPositive();
      assertThat(volume.getFull()).isFalse();
    });
    assertThat(sender.interval()).isEqualTo(Duration.ofMillis(INTERVAL_MS));

    sender.beatOnce();
    HeartbeatRequest unchanged = master.last();
    assertThat(unchanged.getFullReport()).isFalse();
    assertThat(unchanged.getReplicasList()).isEmpty();
    assertThat(unchanged.getRemovedChunkIdsList()).isEmpty();

    write(1, 5000, 3000, false); // grows
    write(3, 0, 100, true); // added
    delete(2); // removed
    sender.beatOnce();
    HeartbeatRequest changes = master.last();
    assertThat(changes.getFullReport()).isFalse();
    assertThat(changes.getReplicasList()).containsExactly(open(1, 8000), open(3, 100));
    assertThat(changes.getRemovedChunkIdsList()).containsExactly(2L);

    client.seal(1, GENERATION, 8000, fixture.admin(1));
    sender.beatOnce();
    assertThat(master.last().getReplicasList())
        .containsExactly(report(1, 8000, ReplicaState.REPLICA_STATE_SEALED));
    assertThat(master.last().getRemovedChunkIdsList()).isEmpty();
  }

  @Test
  void aFullReportAskedForInAnswerToAnIncrementalOneGoesOutAtOnce() throws Exception {
    FakeTracker master = tracker();
    write(1, 0, 4096, true);
    HeartbeatSender sender = sender(MonotonicClock.SYSTEM, master.address());
    sender.beatOnce();
    master.answerNext(Answer.askForFullReport());
    assertThat(sender.beatOnce()).as("no wait before the full report").isZero();
    assertThat(master.last().getFullReport()).isFalse();
    sender.beatOnce();
    assertThat(master.last().getFullReport()).isTrue();
    assertThat(master.last().getReplicasList()).containsExactly(open(1, 4096));

    // Asked again in answer to the full report: the master is not ready, wait an interval.
    master.answerNext(Answer.askForFullReport());
    sender.beatOnce();
    master.answerNext(Answer.askForFullReport());
    assertThat(sender.beatOnce()).isEqualTo(TimeUnit.MILLISECONDS.toNanos(INTERVAL_MS));
    assertThat(master.last().getFullReport()).isTrue();
  }

  @Test
  void afterAFailedHeartbeatTheNextIsFullSoThatAnAppliedButUnansweredOneCannotLeaveGhosts()
      throws Exception {
    FakeTracker master = tracker();
    write(1, 0, 1000, true);
    HeartbeatSender sender = sender(MonotonicClock.SYSTEM, master.address());
    sender.beatOnce();

    // The master receives chunk 5 but its answer is lost; then chunk 5 goes away here.
    write(5, 0, 2000, true);
    master.answerNext(Answer.fail(Status.DEADLINE_EXCEEDED));
    long backoff = sender.beatOnce();
    assertThat(backoff).isPositive()
        .isLessThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(INTERVAL_MS));
    assertThat(master.last().getReplicasList()).containsExactly(open(5, 2000));
    delete(5);

    // A diff against the last answered heartbeat would mention chunk 5 nowhere; a full report
    // replaces what the master holds.
    sender.beatOnce();
    assertThat(master.last().getFullReport()).isTrue();
    assertThat(master.last().getReplicasList()).containsExactly(open(1, 1000));
    sender.beatOnce();
    assertThat(master.last().getFullReport()).isFalse();
  }

  @Test
  void followsTheLeaderNamedByAFollowerAndMovesOnFromADeadMember() throws Exception {
    FakeTracker follower = tracker();
    FakeTracker leader = tracker();
    HostPort dead;
    try (ServerSocket socket = new ServerSocket(0)) {
      dead = HostPort.of("127.0.0.1", socket.getLocalPort()); // closed again: refuses connections
    }
    write(1, 0, 1000, true);
    HeartbeatSender sender = sender(MonotonicClock.SYSTEM, dead, follower.address(),
        leader.address());

    long backoff = sender.beatOnce();
    assertThat(backoff).as("a dead member costs a backoff").isPositive()
        .isLessThanOrEqualTo(HeartbeatSender.DEFAULT_INTERVAL.toNanos());
    assertThat(sender.target()).isEqualTo(follower.address());

    follower.answerNext(Answer.notLeader(leader.address()));
    assertThat(sender.beatOnce()).as("a redirect is followed at once").isZero();
    assertThat(sender.target()).isEqualTo(leader.address());
    sender.beatOnce();
    assertThat(leader.requests).singleElement()
        .satisfies(request -> assertThat(request.getFullReport()).isTrue());
    sender.beatOnce();
    assertThat(leader.last().getFullReport()).isFalse();

    // Leadership moves back: the old leader redirects, and the new one gets a full report.
    leader.answerNext(Answer.notLeader(follower.address()));
    assertThat(sender.beatOnce()).isZero();
    sender.beatOnce();
    assertThat(follower.last().getFullReport()).isTrue();
    assertThat(follower.last().getReplicasList()).containsExactly(open(1, 1000));

    // Members that keep naming each other do not make it spin.
    for (int i = 0; i < 10; i++) {
      follower.answerNext(Answer.notLeader(leader.address()));
      leader.answerNext(Answer.notLeader(follower.address()));
    }
    int redirects = 0;
    while (sender.beatOnce() == 0) {
      redirects++;
    }
    assertThat(redirects).isEqualTo(HeartbeatSender.REDIRECTS_IN_A_ROW_MAX);
  }

  @Test
  void corruptReportsStayUntilAHeartbeatCarryingThemIsAnswered() throws Exception {
    FakeTracker master = tracker();
    write(9, 0, 3 * 4096, true);
    HeartbeatSender sender = sender(MonotonicClock.SYSTEM, master.address());
    sender.beatOnce();
    try (RandomAccessFile file =
        new RandomAccessFile(ChunkServerFixture.dataFile(server, 9).toFile(), "rw")) {
      file.seek(4096 + 7);
      int value = file.read();
      file.seek(4096 + 7);
      file.write(~value & 0xff);
    }
    assertThatThrownBy(() -> client.read(9, GENERATION, 0, ByteBuffer.allocate(3 * 4096),
        fixture.read(9))).isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DATA_LOSS));
    ReplicaReport corrupt = ReplicaReport.newBuilder(open(9, 3 * 4096)).setCorrupt(true).build();

    master.answerNext(Answer.fail(Status.UNAVAILABLE));
    sender.beatOnce();
    assertThat(master.last().getCorruptReplicasList()).containsExactly(corrupt);
    assertThat(server.heartbeatReport().corruptReplicas()).as("not answered: kept").hasSize(1);

    sender.beatOnce();
    assertThat(master.last().getCorruptReplicasList()).containsExactly(corrupt);
    assertThat(master.last().getReplicasList()).containsExactly(corrupt);
    assertThat(server.heartbeatReport().corruptReplicas()).as("answered: dropped").isEmpty();
    sender.beatOnce();
    assertThat(master.last().getCorruptReplicasList()).isEmpty();
  }

  @Test
  void notReadyBeforeTheFirstAnswerAndAfterThreeSilentIntervals() throws Exception {
    FakeTracker master = tracker();
    ManualClock clock = new ManualClock();
    HeartbeatSender sender = sender(clock, master.address());
    assertThat(sender.readiness().healthy()).isFalse();
    assertThat(sender.readiness().reason()).contains("not answered a heartbeat yet");

    sender.beatOnce();
    assertThat(sender.readiness().healthy()).isTrue();
    clock.advance(Duration.ofMillis(3 * INTERVAL_MS));
    assertThat(sender.readiness().healthy()).isTrue();
    master.answerNext(Answer.fail(Status.UNAVAILABLE.withDescription("electing")));
    sender.beatOnce();
    clock.advance(Duration.ofMillis(1));
    assertThat(sender.readiness().healthy()).isFalse();
    assertThat(sender.readiness().reason()).contains("3 heartbeat intervals")
        .contains("UNAVAILABLE electing");
    assertThat(sender.lastAnsweredAgeSeconds()).isEqualTo(3.001);

    sender.beatOnce();
    assertThat(sender.readiness().healthy()).isTrue();
  }
}
