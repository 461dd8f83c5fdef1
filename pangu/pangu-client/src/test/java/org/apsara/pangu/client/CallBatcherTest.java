package org.apsara.pangu.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.grpc.Status;
import java.io.InterruptedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apsara.pangu.api.v1.DeletePathsRequest;
import org.apsara.pangu.api.v1.DeletePathsResponse;
import org.apsara.pangu.api.v1.DeleteRequest;
import org.apsara.pangu.api.v1.DeleteResponse;
import org.apsara.pangu.api.v1.DeleteResult;
import org.apsara.pangu.api.v1.FileStatus;
import org.apsara.pangu.api.v1.FileStatusResult;
import org.apsara.pangu.api.v1.GetFileStatusRequest;
import org.apsara.pangu.api.v1.GetFileStatusResponse;
import org.apsara.pangu.api.v1.GetFileStatusesRequest;
import org.apsara.pangu.api.v1.GetFileStatusesResponse;
import org.apsara.pangu.api.v1.PathError;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Statuses and deletes asked for while the client's calls of their kind are all under way wait
 * and travel together, each with its own outcome, against a fake master that holds the first
 * calls until told.
 */
class CallBatcherTest {
  private static final long AWAIT_SECONDS = 10;

  private final CountDownLatch release = new CountDownLatch(1);
  private final CountDownLatch heldArrived =
      new CountDownLatch(CallBatcher.CALLS_IN_FLIGHT_MAX);
  /** The paths of each call that carried many, in arrival order. */
  private final List<List<String>> batches = new CopyOnWriteArrayList<>();
  private final ExecutorService threads = Executors.newCachedThreadPool();
  private final List<AutoCloseable> open = new ArrayList<>();
  private CallBatcher<String, FileStatus> statuses;
  private CallBatcher<DeleteRequest, DeleteResponse> deletes;

  @AfterEach
  void closeAll() throws Exception {
    release.countDown();
    threads.shutdownNow();
    for (int i = open.size() - 1; i >= 0; i--) {
      open.get(i).close();
    }
  }

  /**
   * A master whose GetFileStatus and Delete of "/held..." wait for {@link #release}, and whose
   * calls that carry many are answered by {@code batchHandler}.
   */
  private void start(ScriptedMaster.Handler batchHandler) throws Exception {
    ScriptedMaster master = new ScriptedMaster((method, request) -> {
      switch (method) {
        case "getFileStatuses" ->
            batches.add(((GetFileStatusesRequest) request).getPathsList());
        case "deletePaths" -> batches.add(((DeletePathsRequest) request).getDeletesList()
            .stream().map(DeleteRequest::getPath).toList());
        default -> {
          String path = method.equals("delete") ? ((DeleteRequest) request).getPath()
              : ((GetFileStatusRequest) request).getPath();
          if (path.startsWith("/held")) {
            heldArrived.countDown();
            try {
              release.await();
            } catch (InterruptedException e) {
              throw Status.CANCELLED.asRuntimeException();
            }
          }
          return method.equals("delete") ? DeleteResponse.getDefaultInstance()
              : GetFileStatusResponse.newBuilder().setStatus(status(path)).build();
        }
      }
      return batchHandler.handle(method, request);
    });
    GrpcTestServer server = new GrpcTestServer(master);
    open.add(server);
    MasterCaller caller = new MasterCaller(PanguClientConfig.builder(List.of(server.address()))
        .operationTimeout(Duration.ofSeconds(AWAIT_SECONDS)).build());
    open.add(caller);
    statuses = MasterBatches.statuses(caller);
    deletes = MasterBatches.deletes(caller);
  }

  private static FileStatus status(String path) {
    return FileStatus.newBuilder().setPath(path).build();
  }

  /** Answers each path with its status, and "/missing..." with NOT_FOUND. */
  private static GetFileStatusesResponse eachOnItsOwn(GetFileStatusesRequest request) {
    GetFileStatusesResponse.Builder b = GetFileStatusesResponse.newBuilder();
    for (String path : request.getPathsList()) {
      b.addResults(path.startsWith("/missing")
          ? FileStatusResult.newBuilder().setError(PathError.newBuilder().setCode("NOT_FOUND")
              .setMessage("NOT_FOUND: " + path + " does not exist"))
          : FileStatusResult.newBuilder().setStatus(status(path)));
    }
    return b.build();
  }

  /**
   * Takes every call the batcher may have under way with a status the master holds until
   * {@link #release}, so that the next paths queue.
   */
  private List<Future<FileStatus>> holdEveryCall() throws InterruptedException {
    List<Future<FileStatus>> held = new ArrayList<>();
    for (int i = 0; i < CallBatcher.CALLS_IN_FLIGHT_MAX; i++) {
      String path = "/held" + i;
      held.add(threads.submit(() -> statuses.call(path)));
    }
    assertThat(heldArrived.await(AWAIT_SECONDS, TimeUnit.SECONDS)).isTrue();
    assertThat(statuses.queued()).isZero();
    return held;
  }

  private Future<FileStatus> queue(String path, int queuedAfter) {
    Future<FileStatus> answer = threads.submit(() -> statuses.call(path));
    await().atMost(Duration.ofSeconds(AWAIT_SECONDS))
        .until(() -> statuses.queued() == queuedAfter);
    return answer;
  }

  @Test
  void statusesAskedWhileEveryCallIsUnderWayTravelTogetherEachWithItsAnswer() throws Exception {
    start((method, request) -> eachOnItsOwn((GetFileStatusesRequest) request));
    List<Future<FileStatus>> held = holdEveryCall();
    List<Future<FileStatus>> queued = new ArrayList<>();
    List<String> paths = List.of("/a", "/b", "/missing", "/c");
    for (int i = 0; i < paths.size(); i++) {
      queued.add(queue(paths.get(i), i + 1));
    }

    release.countDown();

    for (Future<FileStatus> h : held) {
      assertThat(h.get(AWAIT_SECONDS, TimeUnit.SECONDS).getPath()).startsWith("/held");
    }
    assertThat(queued.get(0).get(AWAIT_SECONDS, TimeUnit.SECONDS).getPath()).isEqualTo("/a");
    assertThat(queued.get(1).get(AWAIT_SECONDS, TimeUnit.SECONDS).getPath()).isEqualTo("/b");
    assertThat(queued.get(3).get(AWAIT_SECONDS, TimeUnit.SECONDS).getPath()).isEqualTo("/c");
    assertThatThrownBy(() -> queued.get(2).get(AWAIT_SECONDS, TimeUnit.SECONDS))
        .isInstanceOf(ExecutionException.class).cause()
        .isInstanceOfSatisfying(PanguException.class, e -> {
          assertThat(e.code()).isEqualTo(PanguErrorCode.NOT_FOUND);
          assertThat(e.path()).isEqualTo("/missing");
        })
        .hasMessage("NOT_FOUND: /missing does not exist");
    // The first call to end took all four queued paths; nothing was left for the second.
    assertThat(batches).containsExactly(paths);
    assertThat(statuses.queued()).isZero();
  }

  @Test
  void aFailureOfTheWholeCallIsEveryPathsEachNamingItsOwn() throws Exception {
    start((method, request) -> {
      throw Status.PERMISSION_DENIED.withDescription("denied, all of it").asRuntimeException();
    });
    holdEveryCall();
    Future<FileStatus> x = queue("/x", 1);
    Future<FileStatus> y = queue("/y", 2);

    release.countDown();

    assertDeniedNaming(x, "/x");
    assertDeniedNaming(y, "/y");
    assertThat(batches).containsExactly(List.of("/x", "/y"));
  }

  private static void assertDeniedNaming(Future<FileStatus> answer, String path) {
    assertThatThrownBy(() -> answer.get(AWAIT_SECONDS, TimeUnit.SECONDS))
        .cause().isInstanceOfSatisfying(PanguException.class, e -> {
          assertThat(e.code()).isEqualTo(PanguErrorCode.PERMISSION_DENIED);
          assertThat(e.path()).isEqualTo(path);
        })
        .hasMessageContaining("denied, all of it");
  }

  @Test
  void anInterruptedWaiterLeavesTheQueueAndItsPathIsNotSent() throws Exception {
    start((method, request) -> eachOnItsOwn((GetFileStatusesRequest) request));
    holdEveryCall();
    CompletableFuture<Throwable> interrupted = new CompletableFuture<>();
    Thread waiter = new Thread(() -> {
      try {
        statuses.call("/gone");
        interrupted.complete(null);
      } catch (Exception e) {
        interrupted.complete(e);
      }
    });
    waiter.start();
    await().atMost(Duration.ofSeconds(AWAIT_SECONDS)).until(() -> statuses.queued() == 1);
    Future<FileStatus> kept1 = queue("/kept1", 2);
    Future<FileStatus> kept2 = queue("/kept2", 3);

    waiter.interrupt();

    assertThat(interrupted.get(AWAIT_SECONDS, TimeUnit.SECONDS))
        .isInstanceOf(InterruptedIOException.class).hasMessageContaining("/gone");
    assertThat(statuses.queued()).isEqualTo(2);
    release.countDown();
    assertThat(kept1.get(AWAIT_SECONDS, TimeUnit.SECONDS).getPath()).isEqualTo("/kept1");
    assertThat(kept2.get(AWAIT_SECONDS, TimeUnit.SECONDS).getPath()).isEqualTo("/kept2");
    assertThat(batches).containsExactly(List.of("/kept1", "/kept2"));
  }

  @Test
  void deletesMadeTogetherEachGetTheirOwnOutcomeAndAnUnproposedOneIsUnknown() throws Exception {
    start((method, request) -> {
      DeletePathsResponse.Builder b = DeletePathsResponse.newBuilder();
      for (DeleteRequest delete : ((DeletePathsRequest) request).getDeletesList()) {
        String code = switch (delete.getPath()) {
          case "/missing" -> "NOT_FOUND";
          case "/busy" -> "BUSY";
          default -> "";
        };
        b.addResults(code.isEmpty() ? DeleteResult.getDefaultInstance()
            : DeleteResult.newBuilder().setError(PathError.newBuilder().setCode(code)
                .setMessage(code + ": " + delete.getPath())).build());
      }
      return b.build();
    });
    for (int i = 0; i < CallBatcher.CALLS_IN_FLIGHT_MAX; i++) {
      DeleteRequest held = DeleteRequest.newBuilder().setPath("/held" + i).build();
      threads.submit(() -> deletes.call(held));
    }
    assertThat(heldArrived.await(AWAIT_SECONDS, TimeUnit.SECONDS)).isTrue();
    List<String> paths = List.of("/a", "/missing", "/busy");
    List<Future<DeleteResponse>> outcomes = new ArrayList<>();
    for (int i = 0; i < paths.size(); i++) {
      DeleteRequest delete = DeleteRequest.newBuilder().setPath(paths.get(i)).build();
      outcomes.add(threads.submit(() -> deletes.call(delete)));
      int queuedAfter = i + 1;
      await().atMost(Duration.ofSeconds(AWAIT_SECONDS))
          .until(() -> deletes.queued() == queuedAfter);
    }

    release.countDown();

    assertThat(outcomes.get(0).get(AWAIT_SECONDS, TimeUnit.SECONDS)).isNotNull();
    assertThatThrownBy(() -> outcomes.get(1).get(AWAIT_SECONDS, TimeUnit.SECONDS)).cause()
        .isInstanceOfSatisfying(PanguException.class, e -> {
          assertThat(e.code()).isEqualTo(PanguErrorCode.NOT_FOUND);
          assertThat(e.path()).isEqualTo("/missing");
        });
    // Not proposed at all, but told apart from unknown only by a code the caller does not act
    // on: the delete settles it as an unknown outcome, by trying again.
    assertThatThrownBy(() -> outcomes.get(2).get(AWAIT_SECONDS, TimeUnit.SECONDS)).cause()
        .isInstanceOfSatisfying(PanguException.class, e -> {
          assertThat(e.code()).isEqualTo(PanguErrorCode.OUTCOME_UNKNOWN);
          assertThat(e.path()).isEqualTo("/busy");
        })
        .hasMessageContaining("BUSY: /busy");
    assertThat(batches).containsExactly(paths);
  }
}
