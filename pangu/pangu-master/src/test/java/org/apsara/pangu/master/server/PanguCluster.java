package org.apsara.pangu.master.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.apsara.common.net.HostPort;
import org.apsara.pangu.api.v1.AddChunkRequest;
import org.apsara.pangu.api.v1.ChunkServerLocation;
import org.apsara.pangu.api.v1.ChunkServerTrackerGrpc;
import org.apsara.pangu.api.v1.CloseFileRequest;
import org.apsara.pangu.api.v1.CommitChunkRequest;
import org.apsara.pangu.api.v1.CreateRequest;
import org.apsara.pangu.api.v1.FileStatus;
import org.apsara.pangu.api.v1.GetChunkLocationsRequest;
import org.apsara.pangu.api.v1.GetChunkLocationsResponse;
import org.apsara.pangu.api.v1.HeartbeatRequest;
import org.apsara.pangu.api.v1.HeartbeatResponse;
import org.apsara.pangu.api.v1.LocatedChunk;
import org.apsara.pangu.api.v1.PanguMasterGrpc;
import org.apsara.pangu.api.v1.ReplicaReport;
import org.apsara.pangu.api.v1.ReplicaState;
import org.apsara.pangu.chunkserver.server.ChunkServer;
import org.apsara.pangu.chunkserver.server.ChunkServerConfig;
import org.apsara.pangu.chunkserver.server.HeartbeatReport;
import org.apsara.pangu.chunkserver.store.ReplicaInfo;
import org.apsara.pangu.chunkserver.store.VolumeConfig;
import org.apsara.pangu.client.chunkserver.ChunkServerClient;
import org.apsara.pangu.client.chunkserver.ReplicaWriter;
import org.apsara.security.token.TokenKey;
import org.apsara.security.token.TokenKeyFile;
import org.apsara.testkit.Ports;

/**
 * An in-process Pangu cluster for end-to-end tests: 1 or 3 master members ({@link
 * MasterServer}) and real chunkservers, each on loopback with its own directory, sharing one
 * token key file. Until chunkservers heartbeat by themselves, this fixture sends their
 * heartbeats (a full report every {@link #HEARTBEAT}) to whichever master leads, built from
 * {@link ChunkServer#heartbeatReport()}. Closes everything it started.
 */
final class PanguCluster implements AutoCloseable {
  static final Duration HEARTBEAT = Duration.ofMillis(100);
  static final Duration DEAD = Duration.ofMillis(1500);
  static final Duration LEASE = Duration.ofSeconds(2);
  static final Duration AWAIT = Duration.ofSeconds(60);
  static final long CHUNK_SIZE = 1L << 20;

  final Path root;
  final Path keyFile;
  private final Map<String, HostPort> raft = new LinkedHashMap<>();
  private final Map<String, HostPort> client = new LinkedHashMap<>();
  private final Map<String, MasterServer> masters = new ConcurrentHashMap<>();
  private final Map<String, ChunkServer> chunkServers = new ConcurrentHashMap<>();
  private final Map<String, ScheduledFuture<?>> heartbeats = new ConcurrentHashMap<>();
  private final Map<String, List<ReplicaInfo>> frozenReports = new ConcurrentHashMap<>();
  private final Map<HostPort, ManagedChannel> channels = new ConcurrentHashMap<>();
  private final List<AutoCloseable> closeables = new ArrayList<>();
  /** Settings of the masters started from now on, over the fixture's own. */
  private UnaryOperator<MasterServerConfig.Builder> masterSettings = UnaryOperator.identity();
  /** The one volume of each chunkserver started from now on: its capacity. */
  private long volumeCapacityBytes = VolumeConfig.CAPACITY_WHOLE_FILE_SYSTEM;
  private final ScheduledExecutorService heartbeatThread =
      Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "test-heartbeats");
        t.setDaemon(true);
        return t;
      });

  PanguCluster(Path root, int masterCount) throws IOException {
    this.root = root;
    this.keyFile = root.resolve("token.keys");
    TokenKeyFile.write(keyFile, List.of(TokenKey.generate("k1", new SecureRandom())));
    List<Integer> ports = Ports.freePorts(masterCount * 2);
    for (int i = 0; i < masterCount; i++) {
      String id = "m" + (i + 1);
      raft.put(id, HostPort.of("127.0.0.1", ports.get(2 * i)));
      client.put(id, HostPort.of("127.0.0.1", ports.get(2 * i + 1)));
    }
  }

  /** Adjusts the settings of masters started after this call (balancer, copy slots...). */
  PanguCluster masterSettings(UnaryOperator<MasterServerConfig.Builder> settings) {
    masterSettings = settings;
    return this;
  }

  /**
   * Gives chunkservers started after this call a volume of {@code bytes} with no reserve, so
   * that their used fractions are comparable (they all share one file system otherwise).
   */
  PanguCluster volumeCapacity(long bytes) {
    volumeCapacityBytes = bytes;
    return this;
  }

  PanguCluster startMasters() throws IOException {
    for (String id : raft.keySet()) {
      startMaster(id);
    }
    return this;
  }

  MasterServer startMaster(String id) throws IOException {
    MasterServerConfig.Builder b = MasterServerConfig.builder()
        .memberId(id)
        .dataDir(root.resolve(id))
        .tokenKeyFile(keyFile)
        .metricsPort(0)
        .heartbeatInterval(HEARTBEAT)
        .deadInterval(DEAD)
        .repairInterval(Duration.ofMillis(100))
        .leaseDuration(LEASE)
        .electionTimeout(Duration.ofMillis(800))
        .requestTimeout(Duration.ofSeconds(5))
        .defaultChunkSizeBytes(CHUNK_SIZE)
        .masterTuning(m -> m.leaseMonitorInterval(Duration.ofMillis(200)));
    for (String peer : raft.keySet()) {
      b.peer(peer, raft.get(peer), client.get(peer));
    }
    MasterServer server = MasterServer.start(masterSettings.apply(b).build());
    masters.put(id, server);
    return server;
  }

  void stopMaster(String id) {
    MasterServer server = masters.remove(id);
    if (server != null) {
      server.close();
    }
  }

  Optional<MasterServer> leader() {
    return masters.values().stream().filter(MasterServer::isLeader).findFirst();
  }

  MasterServer awaitLeader() {
    return await("a ready master leader").atMost(AWAIT).until(this::leader, Optional::isPresent)
        .orElseThrow();
  }

  MasterServer master(String id) {
    return masters.get(id);
  }

  List<MasterServer> masters() {
    return new ArrayList<>(masters.values());
  }

  PanguMasterGrpc.PanguMasterBlockingStub stub(MasterServer server) {
    return PanguMasterGrpc.newBlockingStub(channel(server.clientAddress()))
        .withDeadlineAfter(30, TimeUnit.SECONDS);
  }

  /** A stub on the current leader. */
  PanguMasterGrpc.PanguMasterBlockingStub leaderStub() {
    return stub(awaitLeader());
  }

  private ManagedChannel channel(HostPort address) {
    return channels.computeIfAbsent(address, a -> NettyChannelBuilder
        .forAddress(a.host(), a.port()).usePlaintext().build());
  }

  // ---------------------------------------------------------------- chunkservers

  ChunkServer startChunkServer(String id) throws IOException {
    ChunkServer server = ChunkServer.start(ChunkServerConfig.builder()
        .volume(new VolumeConfig(root.resolve(id).resolve("volume"), volumeCapacityBytes, 0))
        .chunkSizeBytes(CHUNK_SIZE)
        .host("127.0.0.1")
        .port(0)
        .tokenKeyFile(keyFile)
        .serverId(id)
        .build());
    chunkServers.put(id, server);
    heartbeats.put(id, heartbeatThread.scheduleWithFixedDelay(() -> heartbeat(id), 0,
        HEARTBEAT.toMillis(), TimeUnit.MILLISECONDS));
    return server;
  }

  /** Stops a chunkserver and its heartbeats, as if its machine died. */
  void killChunkServer(String id) {
    ScheduledFuture<?> beat = heartbeats.remove(id);
    if (beat != null) {
      beat.cancel(false);
    }
    ChunkServer server = chunkServers.remove(id);
    if (server != null) {
      server.close();
    }
  }

  /**
   * From now on the chunkserver's heartbeats repeat the replicas of its report of this moment,
   * as a report built before its latest writes would; {@link #thawReports} ends it.
   */
  void freezeReports(String id) {
    frozenReports.put(id, chunkServers.get(id).heartbeatReport().replicas());
  }

  void thawReports(String id) {
    frozenReports.remove(id);
  }

  ChunkServer chunkServer(String id) {
    return chunkServers.get(id);
  }

  ChunkServerClient chunkClient(String id) {
    ChunkServerClient c = ChunkServerClient.connect(chunkServers.get(id).address(), null);
    synchronized (closeables) {
      closeables.add(c);
    }
    return c;
  }

  ChunkServerClient chunkClient(ChunkServerLocation location) {
    ChunkServerClient c = ChunkServerClient.connect(HostPort.parse(location.getAddress()), null);
    synchronized (closeables) {
      closeables.add(c);
    }
    return c;
  }

  private void heartbeat(String id) {
    ChunkServer server = chunkServers.get(id);
    Optional<MasterServer> leader = leader();
    if (server == null || leader.isEmpty()) {
      return;
    }
    try {
      HeartbeatReport report = server.heartbeatReport();
      HeartbeatRequest.Builder request = HeartbeatRequest.newBuilder()
          .setLocation(ChunkServerLocation.newBuilder().setId(id)
              .setAddress(server.address().format()))
          .setFullReport(true)
          .setDecommissioning(report.decommissioning());
      request.addAllVolumes(report.volumeReports());
      for (ReplicaInfo r : frozenReports.getOrDefault(id, report.replicas())) {
        request.addReplicas(toReport(r));
      }
      for (var c : report.corruptReplicas()) {
        request.addCorruptReplicas(ReplicaReport.newBuilder().setChunkId(c.chunkId())
            .setGeneration(c.generation()).setCorrupt(true));
      }
      HeartbeatResponse answer = ChunkServerTrackerGrpc.newBlockingStub(
              channel(leader.get().clientAddress()))
          .withDeadlineAfter(5, TimeUnit.SECONDS).heartbeat(request.build());
      server.acknowledgeCorruptReports(report.corruptReplicas());
      if (answer.hasDecommission()) {
        server.setDecommissioning(answer.getDecommission());
      }
    } catch (IOException e) {
      // Not recorded: the master asks again in its next answer.
    } catch (RuntimeException e) {
      // The leader moved or is stopping; the next heartbeat finds the new one.
    }
  }

  static ReplicaReport toReport(ReplicaInfo r) {
    ReplicaState state = switch (r.state()) {
      case OPEN -> ReplicaState.REPLICA_STATE_OPEN;
      case SEALED -> ReplicaState.REPLICA_STATE_SEALED;
      case UNREADABLE -> ReplicaState.REPLICA_STATE_UNREADABLE;
    };
    return ReplicaReport.newBuilder().setChunkId(r.chunkId()).setGeneration(r.generation())
        .setLength(r.length()).setState(state).setCorrupt(r.corrupt()).build();
  }

  // ---------------------------------------------------------------- writing and reading

  /** The byte at {@code offset} of the stream named by {@code seed}. */
  static byte byteAt(long seed, long offset) {
    long x = seed * 0x9E3779B97F4A7C15L + offset;
    x ^= x >>> 33;
    x *= 0xff51afd7ed558ccdL;
    x ^= x >>> 33;
    return (byte) x;
  }

  static byte[] content(long seed, long offset, int length) {
    byte[] bytes = new byte[length];
    for (int i = 0; i < length; i++) {
      bytes[i] = byteAt(seed, offset + i);
    }
    return bytes;
  }

  /** An open file and the chunk {@link #createWithChunk} allocated in it. */
  record FileWithChunk(FileStatus file, LocatedChunk chunk) {}

  /** Creates {@code path} for {@code clientName} and allocates its first chunk. */
  FileWithChunk createWithChunk(String path, String clientName) {
    PanguMasterGrpc.PanguMasterBlockingStub master = leaderStub();
    FileStatus file = master.create(CreateRequest.newBuilder().setPath(path)
        .setClientName(clientName).build()).getStatus();
    return new FileWithChunk(file, addChunk(file, clientName));
  }

  LocatedChunk addChunk(FileStatus file, String clientName) {
    return leaderStub().addChunk(AddChunkRequest.newBuilder().setFileId(file.getInodeId())
        .setClientName(clientName).build()).getChunk();
  }

  /**
   * Writes a closed file of chunks with the given lengths as a client would: AddChunk, write to
   * every replica, CommitChunk at the acknowledged length, and CloseFile.
   */
  FileStatus writeFile(String path, String clientName, long seed, int... chunkLengths)
      throws InterruptedException {
    PanguMasterGrpc.PanguMasterBlockingStub master = leaderStub();
    FileStatus created = master.create(CreateRequest.newBuilder().setPath(path)
        .setClientName(clientName).setCreateParent(true).build()).getStatus();
    long offset = 0;
    for (int length : chunkLengths) {
      LocatedChunk chunk = addChunk(created, clientName);
      long acknowledged = writeChunk(chunk, content(seed, offset, length), true);
      assertThat(acknowledged).isEqualTo(length);
      master.commitChunk(CommitChunkRequest.newBuilder().setFileId(created.getInodeId())
          .setClientName(clientName).setChunkIndex(chunk.getIndex())
          .setChunkId(chunk.getChunkId()).setGeneration(chunk.getGeneration())
          .setLength(length).build());
      offset += length;
    }
    return master.closeFile(CloseFileRequest.newBuilder().setFileId(created.getInodeId())
        .setClientName(clientName).build()).getStatus();
  }

  /**
   * Writes {@code data} to every replica of a new chunk in parallel streams, syncing at the end;
   * with {@code finish}, ends the streams. Returns the length every replica acknowledged.
   */
  long writeChunk(LocatedChunk chunk, byte[] data, boolean finish) throws InterruptedException {
    List<ReplicaWriter> writers = new ArrayList<>();
    for (ChunkServerLocation location : chunk.getLocationsList()) {
      writers.add(chunkClient(location).openWriter(chunk.getChunkId(), chunk.getGeneration(),
          chunk.getToken(), true, 0));
    }
    long acknowledged = Long.MAX_VALUE;
    for (ReplicaWriter w : writers) {
      w.write(ByteBuffer.wrap(data), true);
    }
    for (ReplicaWriter w : writers) {
      acknowledged = Math.min(acknowledged, finish ? w.finish(Duration.ofSeconds(30))
          : w.awaitSynced(data.length, Duration.ofSeconds(30)));
    }
    if (!finish) {
      synchronized (closeables) {
        closeables.addAll(writers);
      }
    }
    return acknowledged;
  }

  GetChunkLocationsResponse locations(String path) {
    return leaderStub().getChunkLocations(GetChunkLocationsRequest.newBuilder().setPath(path)
        .build());
  }

  /** Reads a chunk's committed bytes from the replica at {@code location}. */
  byte[] read(LocatedChunk chunk, ChunkServerLocation location) {
    ByteBuffer target = ByteBuffer.allocate((int) chunk.getLength());
    chunkClient(location).read(chunk.getChunkId(), chunk.getGeneration(), 0, target,
        chunk.getToken());
    return target.array();
  }

  @Override
  public void close() {
    heartbeats.values().forEach(f -> f.cancel(false));
    heartbeatThread.shutdownNow();
    synchronized (closeables) {
      for (AutoCloseable c : closeables) {
        try {
          c.close();
        } catch (Exception e) {
          // Closing what a test left open; keep closing the rest.
        }
      }
    }
    chunkServers.keySet().forEach(this::killChunkServer);
    masters.keySet().forEach(this::stopMaster);
    channels.values().forEach(ManagedChannel::shutdownNow);
  }
}
