package org.apsara.pangu.client;

import static org.apsara.pangu.client.GrpcTestServer.masterError;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.io.InterruptedIOException;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.apsara.common.net.HostPort;
import org.apsara.pangu.api.v1.AddChunkResponse;
import org.apsara.pangu.api.v1.CloseFileResponse;
import org.apsara.pangu.api.v1.DeleteResponse;
import org.apsara.pangu.api.v1.FileStatus;
import org.apsara.pangu.api.v1.GetFileStatusRequest;
import org.apsara.pangu.api.v1.GetFileStatusResponse;
import org.apsara.pangu.api.v1.LocatedChunk;
import org.apsara.pangu.api.v1.MkdirsResponse;
import org.apsara.pangu.api.v1.RenameResponse;
import org.apsara.security.grpc.AuthenticationServerInterceptor;
import org.apsara.security.sign.SignatureError;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * How the client follows the leader, retries what had no effect, gives up at its deadline and
 * settles unknown outcomes, against fake master members that answer with scripted statuses.
 */
class MasterRetryTest {
  private static final String CLIENT = "test-client";
  /** Bound on every wait of these tests; they pass in milliseconds. */
  private static final long AWAIT_SECONDS = 10;
  private final List<AutoCloseable> open = new ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    for (int i = open.size() - 1; i >= 0; i--) {
      open.get(i).close();
    }
  }

  private GrpcTestServer serve(ScriptedMaster master) throws Exception {
    GrpcTestServer server = new GrpcTestServer(master);
    open.add(server);
    return server;
  }

  private PanguClient client(Duration operationTimeout, HostPort... masters) {
    PanguClient client = PanguClient.connect(PanguClientConfig.builder(List.of(masters))
        .clientName(CLIENT)
        .operationTimeout(operationTimeout)
        .callTimeout(Duration.ofSeconds(5))
        .backoff(Duration.ofMillis(5), Duration.ofMillis(50))
        .build());
    open.add(client);
    return client;
  }

  private PanguClient client(HostPort... masters) {
    return client(Duration.ofSeconds(10), masters);
  }

  private static MkdirsResponse mkdirsOk() {
    return MkdirsResponse.newBuilder().setStatus(FileStatus.newBuilder().setPath("/a")
        .setDirectory(true)).build();
  }

  @Test
  void callsTakeTheMembersConnectionsInTurn() throws Exception {
    Set<SocketAddress> callers = ConcurrentHashMap.newKeySet();
    ServerInterceptor recordCaller = new ServerInterceptor() {
      @Override
      public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
          ServerCallHandler<Q, R> next) {
        callers.add(call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR));
        return next.startCall(call, headers);
      }
    };
    GrpcTestServer master =
        new GrpcTestServer(new ScriptedMaster((method, request) -> mkdirsOk()), recordCaller);
    open.add(master);
    PanguClient client = client(master.address());

    for (int i = 0; i < 2 * MasterCaller.CONNECTIONS_PER_MEMBER; i++) {
      client.mkdirs("/a");
    }

    assertThat(MasterCaller.CONNECTIONS_PER_MEMBER).isGreaterThan(1);
    assertThat(callers).hasSize(MasterCaller.CONNECTIONS_PER_MEMBER);
  }

  @Test
  void followsTheLeaderAFollowerNamesAndKeepsCallingIt() throws Exception {
    ScriptedMaster leader = new ScriptedMaster((method, request) -> mkdirsOk());
    GrpcTestServer leaderServer = serve(leader);
    ScriptedMaster follower = new ScriptedMaster((method, request) -> {
      throw masterError(Status.Code.UNAVAILABLE, PanguErrorCode.NOT_LEADER,
          leaderServer.address());
    });
    // Only the follower is configured: the leader's address is learned from its trailer.
    PanguClient client = client(serve(follower).address());

    assertThat(client.mkdirs("/a").getDirectory()).isTrue();
    client.mkdirs("/a");

    assertThat(follower.count("mkdirs")).isEqualTo(1);
    assertThat(leader.count("mkdirs")).isEqualTo(2);
  }

  @Test
  void triesTheNextMemberWhenAFollowerKnowsNoLeader() throws Exception {
    ScriptedMaster follower = new ScriptedMaster((method, request) -> {
      throw masterError(PanguErrorCode.NOT_LEADER);
    });
    ScriptedMaster leader = new ScriptedMaster((method, request) -> mkdirsOk());
    PanguClient client = client(serve(follower).address(), serve(leader).address());

    client.mkdirs("/a");

    assertThat(follower.count("mkdirs")).isEqualTo(1);
    assertThat(leader.count("mkdirs")).isEqualTo(1);
  }

  @Test
  void retriesWhileTheLeaderIsNotReadyOrBusy() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    ScriptedMaster master = new ScriptedMaster((method, request) -> switch (calls
        .incrementAndGet()) {
      case 1, 2 -> throw masterError(PanguErrorCode.LEADER_NOT_READY);
      case 3 -> throw masterError(PanguErrorCode.BUSY);
      default -> mkdirsOk();
    });
    PanguClient client = client(serve(master).address());

    client.mkdirs("/a");

    assertThat(master.count("mkdirs")).isEqualTo(4);
  }

  @Test
  void givesUpAtTheDeadlineWhenNoMemberCanBeReached() throws Exception {
    GrpcTestServer a = new GrpcTestServer(new ScriptedMaster());
    GrpcTestServer b = new GrpcTestServer(new ScriptedMaster());
    HostPort addressA = a.address();
    HostPort addressB = b.address();
    a.close();
    b.close();
    PanguClient client = client(Duration.ofMillis(500), addressA, addressB);

    long start = System.nanoTime();
    assertThatThrownBy(() -> client.getStatus("/a"))
        .isInstanceOfSatisfying(PanguException.class, e -> {
          assertThat(e.code()).isEqualTo(PanguErrorCode.MASTER_UNAVAILABLE);
          assertThat(e.path()).isEqualTo("/a");
        });
    long tookMs = (System.nanoTime() - start) / 1_000_000;
    assertThat(tookMs).isBetween(400L, 5_000L);
  }

  @Test
  void aRefusalIsThrownWithItsCodeAndPathAndNotRetried() throws Exception {
    ScriptedMaster master = new ScriptedMaster((method, request) -> {
      throw masterError(PanguErrorCode.NOT_FOUND);
    });
    PanguClient client = client(serve(master).address());

    assertThatThrownBy(() -> client.getStatus("/missing"))
        .isInstanceOfSatisfying(PanguException.class, e -> {
          assertThat(e.code()).isEqualTo(PanguErrorCode.NOT_FOUND);
          assertThat(e.path()).isEqualTo("/missing");
          assertThat(e.getMessage()).contains("fake NOT_FOUND");
        });
    assertThat(master.count("getFileStatus")).isEqualTo(1);
  }

  @Test
  void aStatusWithoutCodeIsUnclassifiedAndNotRetried() throws Exception {
    ScriptedMaster master = new ScriptedMaster((method, request) -> {
      throw Status.FAILED_PRECONDITION.withDescription("odd").asRuntimeException();
    });
    PanguClient client = client(serve(master).address());

    assertThatThrownBy(() -> client.getStatus("/a"))
        .isInstanceOfSatisfying(PanguException.class,
            e -> assertThat(e.code()).isEqualTo(PanguErrorCode.UNCLASSIFIED));
    assertThat(master.count("getFileStatus")).isEqualTo(1);
  }

  @Test
  void aDeniedCallIsFinalWithItsOwnCode() throws Exception {
    ScriptedMaster master = new ScriptedMaster((method, request) -> {
      throw Status.PERMISSION_DENIED.withDescription("no access").asRuntimeException();
    });
    PanguClient client = client(serve(master).address());

    assertThatThrownBy(() -> client.getStatus("/a"))
        .isInstanceOfSatisfying(PanguException.class,
            e -> assertThat(e.code()).isEqualTo(PanguErrorCode.PERMISSION_DENIED))
        .hasMessageContaining("no access");
    assertThat(master.count("getFileStatus")).isEqualTo(1);
  }

  @Test
  void aMasterThatCannotConfirmTheKeyYetIsAskedAgain() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    ScriptedMaster master = new ScriptedMaster((method, request) -> {
      if (calls.incrementAndGet() == 1) {
        Metadata trailers = new Metadata();
        trailers.put(AuthenticationServerInterceptor.ERROR_CODE_TRAILER,
            SignatureError.SIGNING_KEY_UNAVAILABLE.code());
        throw Status.UNAVAILABLE.withDescription("identity service unreachable")
            .asRuntimeException(trailers);
      }
      return GetFileStatusResponse.newBuilder()
          .setStatus(FileStatus.newBuilder().setPath("/a")).build();
    });
    PanguClient client = client(serve(master).address());

    assertThat(client.getStatus("/a").getPath()).isEqualTo("/a");
    assertThat(master.count("getFileStatus")).isEqualTo(2);
  }

  @Test
  void anIdempotentCallIsRepeatedAfterAnUnknownOutcome() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    ScriptedMaster master = new ScriptedMaster((method, request) -> {
      if (calls.incrementAndGet() == 1) {
        throw masterError(PanguErrorCode.OUTCOME_UNKNOWN);
      }
      return mkdirsOk();
    });
    PanguClient client = client(serve(master).address());

    client.mkdirs("/a");

    assertThat(master.count("mkdirs")).isEqualTo(2);
  }

  @Test
  void aCommandWhoseOutcomeIsUnknownIsSettledAtTheNextMember() throws Exception {
    // A leader killed mid-call: its connection broke, so whether the command ran is unknown,
    // and it never answers again. The settling call must not start at it once more.
    ScriptedMaster killed = new ScriptedMaster((method, request) -> {
      throw Status.UNAVAILABLE.withDescription("connection reset").asRuntimeException();
    });
    ScriptedMaster newLeader = new ScriptedMaster((method, request) -> AddChunkResponse
        .newBuilder().setChunk(LocatedChunk.newBuilder().setIndex(0).setChunkId(42)).build());
    PanguClient client = client(serve(killed).address(), serve(newLeader).address());
    FileStatus file = FileStatus.newBuilder().setPath("/f").setInodeId(7).build();

    assertThat(client.addChunk(file, 0, List.of()).getChunkId()).isEqualTo(42);
    assertThat(killed.count("addChunk")).isEqualTo(1);
    assertThat(newLeader.count("addChunk")).isEqualTo(1);
  }

  @Test
  void aDeleteWhoseFirstAttemptWorkedAnswersTrue() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    ScriptedMaster master = new ScriptedMaster((method, request) -> {
      if (calls.incrementAndGet() == 1) {
        throw masterError(PanguErrorCode.OUTCOME_UNKNOWN);
      }
      throw masterError(PanguErrorCode.NOT_FOUND);
    });
    PanguClient client = client(serve(master).address());

    assertThat(client.delete("/a", true)).isTrue();
    assertThat(master.count("delete")).isEqualTo(2);
  }

  @Test
  void deletingWhatDoesNotExistAnswersFalse() throws Exception {
    ScriptedMaster master = new ScriptedMaster((method, request) -> {
      throw masterError(PanguErrorCode.NOT_FOUND);
    });
    PanguClient client = client(serve(master).address());

    assertThat(client.delete("/a", false)).isFalse();
  }

  @Test
  void aDeleteIsNotRepeatedWhenItsOutcomeIsKnown() throws Exception {
    ScriptedMaster master = new ScriptedMaster(
        (method, request) -> DeleteResponse.getDefaultInstance());
    PanguClient client = client(serve(master).address());

    assertThat(client.delete("/a", false)).isTrue();
    assertThat(master.count("delete")).isEqualTo(1);
  }

  @Test
  void aCreateThatMeetsItsOwnFileSucceeds() throws Exception {
    AtomicInteger creates = new AtomicInteger();
    ScriptedMaster master = new ScriptedMaster((method, request) -> switch (method) {
      case "create" -> {
        if (creates.incrementAndGet() == 1) {
          throw masterError(PanguErrorCode.OUTCOME_UNKNOWN);
        }
        throw masterError(PanguErrorCode.ALREADY_EXISTS);
      }
      // The first attempt did create the file: open under this client's lease, still empty.
      case "getFileStatus" -> GetFileStatusResponse.newBuilder().setStatus(FileStatus
          .newBuilder().setPath(((GetFileStatusRequest) request).getPath()).setInodeId(7)
          .setOpen(true).setLeaseHolder(CLIENT).setChunkSize(1 << 20).setReplication(3))
          .build();
      case "closeFile" -> CloseFileResponse.getDefaultInstance();
      default -> throw Status.UNIMPLEMENTED.asRuntimeException();
    });
    PanguClient client = client(serve(master).address());

    try (PanguOutputStream out = client.create("/f", CreateOptions.DEFAULTS)) {
      assertThat(out.path()).isEqualTo("/f");
    }

    assertThat(master.count("create")).isEqualTo(1);
    assertThat(master.count("closeFile")).isEqualTo(1);
    assertThat(client.leases().openStreams()).isZero();
  }

  @Test
  void aRetriedCreateThatMeetsAnotherWritersFileFails() throws Exception {
    AtomicInteger creates = new AtomicInteger();
    ScriptedMaster master = new ScriptedMaster((method, request) -> switch (method) {
      case "create" -> {
        if (creates.incrementAndGet() == 1) {
          throw masterError(PanguErrorCode.OUTCOME_UNKNOWN);
        }
        throw masterError(PanguErrorCode.ALREADY_EXISTS);
      }
      case "getFileStatus" -> GetFileStatusResponse.newBuilder().setStatus(FileStatus
          .newBuilder().setPath("/f").setOpen(true).setLeaseHolder("someone-else")).build();
      default -> throw Status.UNIMPLEMENTED.asRuntimeException();
    });
    PanguClient client = client(serve(master).address());

    assertThatThrownBy(() -> client.create("/f", CreateOptions.DEFAULTS))
        .isInstanceOfSatisfying(PanguException.class,
            e -> assertThat(e.code()).isEqualTo(PanguErrorCode.ALREADY_EXISTS));
    assertThat(master.count("create")).isEqualTo(2);
  }

  @Test
  void aRenameWhoseFirstAttemptWorkedSucceeds() throws Exception {
    AtomicInteger renames = new AtomicInteger();
    ScriptedMaster master = new ScriptedMaster((method, request) -> switch (method) {
      case "rename" -> {
        if (renames.incrementAndGet() == 1) {
          throw masterError(PanguErrorCode.OUTCOME_UNKNOWN);
        }
        throw masterError(PanguErrorCode.NOT_FOUND);
      }
      case "getFileStatus" -> {
        if (((GetFileStatusRequest) request).getPath().equals("/src")) {
          throw masterError(PanguErrorCode.NOT_FOUND);
        }
        yield GetFileStatusResponse.newBuilder().setStatus(FileStatus.newBuilder()
            .setPath("/dst")).build();
      }
      default -> throw Status.UNIMPLEMENTED.asRuntimeException();
    });
    PanguClient client = client(serve(master).address());

    client.rename("/src", "/dst");

    assertThat(master.count("rename")).isEqualTo(2);
  }

  @Test
  void aRenameWithAnUnknownOutcomeAndNoTraceFailsWithTheRefusal() throws Exception {
    AtomicInteger renames = new AtomicInteger();
    ScriptedMaster master = new ScriptedMaster((method, request) -> switch (method) {
      case "rename" -> {
        if (renames.incrementAndGet() == 1) {
          throw masterError(PanguErrorCode.OUTCOME_UNKNOWN);
        }
        throw masterError(PanguErrorCode.NOT_FOUND);
      }
      case "getFileStatus" -> throw masterError(PanguErrorCode.NOT_FOUND);
      default -> RenameResponse.getDefaultInstance();
    });
    PanguClient client = client(serve(master).address());

    assertThatThrownBy(() -> client.rename("/src", "/dst"))
        .isInstanceOfSatisfying(PanguException.class,
            e -> assertThat(e.code()).isEqualTo(PanguErrorCode.NOT_FOUND));
  }

  @Test
  void anInterruptedCallThrowsInterruptedIoAndKeepsTheInterrupt() throws Exception {
    CountDownLatch arrived = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    ScriptedMaster master = new ScriptedMaster((method, request) -> {
      arrived.countDown();
      try {
        release.await(AWAIT_SECONDS, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return GetFileStatusResponse.getDefaultInstance();
    });
    PanguClient client = client(serve(master).address());
    AtomicReference<Throwable> thrown = new AtomicReference<>();
    AtomicBoolean stillInterrupted = new AtomicBoolean();
    Thread caller = new Thread(() -> {
      try {
        client.getStatus("/slow");
      } catch (Throwable t) {
        thrown.set(t);
      }
      stillInterrupted.set(Thread.currentThread().isInterrupted());
    }, "interrupted-caller");
    try {
      caller.start();
      assertThat(arrived.await(AWAIT_SECONDS, TimeUnit.SECONDS)).isTrue();
      caller.interrupt();
      caller.join(TimeUnit.SECONDS.toMillis(AWAIT_SECONDS));

      assertThat(caller.isAlive()).isFalse();
      assertThat(thrown.get()).isInstanceOf(InterruptedIOException.class)
          .hasMessageContaining("getStatus /slow was interrupted");
      assertThat(stillInterrupted.get()).isTrue();
      assertThat(master.count("getFileStatus")).isEqualTo(1);
    } finally {
      release.countDown();
      caller.join();
    }
  }
}
