package org.apsara.nuwa.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.ListenableFuture;
import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.CompactionRequest;
import io.etcd.jetcd.api.Event;
import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.PutResponse;
import io.etcd.jetcd.api.WatchCreateRequest;
import io.etcd.jetcd.api.WatchResponse;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a member sends on a watch stream, at the wire level, around compaction and progress
 * requests: the answers etcd clients build on (a compacted watch names the compaction revision
 * so the client can re-list from it; a progress answer is a revision the watcher is complete up
 * to).
 */
class ProgressAndCompactionWatchTest {
  /** etcd's "no watch ID", carried by answers to a progress request. */
  private static final long NO_WATCH_ID = -1;
  /** Writes in flight together while progress is being asked for. */
  private static final int CONCURRENT_WRITES = 60;

  @TempDir static Path dir;
  static NuwaTestCluster cluster;
  static ManagedChannel channel;

  @BeforeAll
  static void start() {
    cluster = NuwaTestCluster.start(dir, 1);
    channel = NettyChannelBuilder.forTarget(cluster.endpoint(0)).usePlaintext().build();
  }

  @AfterAll
  static void stop() throws InterruptedException {
    if (channel != null) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    if (cluster != null) {
      cluster.close();
    }
  }

  private static ByteString bytes(String s) {
    return ByteString.copyFromUtf8(s);
  }

  private static long put(String key, String value) {
    return KVGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
        .put(PutRequest.newBuilder().setKey(bytes(key)).setValue(bytes(value)).build())
        .getHeader().getRevision();
  }

  private static WatchCreateRequest prefixFrom(String prefix, long startRevision) {
    return WatchCreateRequest.newBuilder().setKey(bytes(prefix))
        .setRangeEnd(bytes(prefix.substring(0, prefix.length() - 1)
            + (char) (prefix.charAt(prefix.length() - 1) + 1)))
        .setStartRevision(startRevision).build();
  }

  @Test
  void watchFromBelowTheCompactionIsCancelledWithTheCompactRevision() {
    long first = put("c/k", "1");
    long compactAt = put("c/k", "2");
    long last = put("c/k", "3");
    KVGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
        .compact(CompactionRequest.newBuilder().setRevision(compactAt).build());

    try (RawWatchStream stream = new RawWatchStream(channel)) {
      WatchResponse created = stream.create(prefixFrom("c/", first));
      WatchResponse cancelled = stream.awaitResponse(0, WatchResponse::getCanceled);
      assertThat(cancelled.getWatchId()).isEqualTo(created.getWatchId());
      assertThat(cancelled.getCompactRevision()).isEqualTo(compactAt);
      assertThat(cancelled.getEventsCount()).isZero();
      assertThat(stream.responses()).noneMatch(r -> r.getEventsCount() > 0);

      // From the compaction revision itself the history is still there.
      int before = stream.size();
      WatchResponse again = stream.create(prefixFrom("c/", compactAt));
      WatchResponse events = stream.awaitResponse(before, r -> r.getWatchId() == again.getWatchId()
          && r.getEventsCount() >= 2);
      assertThat(events.getEventsList().stream().map(e -> e.getKv().getModRevision()).toList())
          .containsExactly(compactAt, last);
      assertThat(events.getCompactRevision()).isZero();
    }
  }

  @Test
  void progressAnswerComesAfterEveryEventUpToItsRevision() {
    try (RawWatchStream stream = new RawWatchStream(channel)) {
      long from = put("p/start", "x") + 1;
      WatchResponse created = stream.create(prefixFrom("p/", from));
      var async = KVGrpc.newFutureStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS);
      List<ListenableFuture<PutResponse>> writes = new ArrayList<>();
      int progressRequests = 0;
      for (int i = 0; i < CONCURRENT_WRITES; i++) {
        writes.add(async.put(PutRequest.newBuilder().setKey(bytes("p/" + i))
            .setValue(bytes("v")).build()));
        if (i % 10 == 0) {
          stream.requestProgress();
          progressRequests++;
        }
      }
      List<Long> written = new ArrayList<>();
      for (var write : writes) {
        written.add(Futures.getUnchecked(write).getHeader().getRevision());
      }
      long fence = written.stream().mapToLong(Long::longValue).max().orElseThrow();
      stream.awaitResponse(0, r -> r.getEventsList().stream()
          .anyMatch(e -> e.getKv().getModRevision() == fence));
      stream.requestProgress();
      progressRequests++;
      int answered = progressRequests;
      stream.awaitResponse(0, r -> countProgress(stream.responses()) >= answered);

      // Walk the stream in order: at each progress answer, every event at or below its revision
      // must already have arrived.
      List<Long> seen = new ArrayList<>();
      int progressAnswers = 0;
      for (WatchResponse r : stream.responses()) {
        if (isProgress(r)) {
          progressAnswers++;
          long revision = r.getHeader().getRevision();
          assertThat(revision).isPositive();
          for (long write : written) {
            if (write <= revision) {
              assertThat(seen).as("event at %s before the progress answer at %s", write, revision)
                  .contains(write);
            }
          }
        }
        for (Event e : r.getEventsList()) {
          assertThat(r.getWatchId()).isEqualTo(created.getWatchId());
          seen.add(e.getKv().getModRevision());
        }
      }
      assertThat(progressAnswers).isEqualTo(progressRequests);
      assertThat(seen).containsExactlyElementsOf(written.stream().sorted().toList());
    }
  }

  @Test
  void progressOnAnIdleWatchReportsTheCurrentRevision() {
    try (RawWatchStream stream = new RawWatchStream(channel)) {
      stream.create(prefixFrom("idle/", 0));
      long latest = 0;
      for (int i = 0; i < 5; i++) {
        latest = put("busy/" + i, "v");
      }
      int before = stream.size();
      stream.requestProgress();
      WatchResponse progress =
          stream.awaitResponse(before, ProgressAndCompactionWatchTest::isProgress);
      // Nothing under idle/ changed, so the watcher is complete up to the newest revision; etcd
      // answers with its current revision, and clients (Kubernetes' watch cache among them)
      // wait on that answer reaching a revision they read.
      assertThat(progress.getHeader().getRevision())
          .as("progress revision after writes up to %s elsewhere", latest)
          .isGreaterThanOrEqualTo(latest);
    }
  }

  private static boolean isProgress(WatchResponse r) {
    return r.getWatchId() == NO_WATCH_ID && r.getEventsCount() == 0 && !r.getCreated()
        && !r.getCanceled();
  }

  private static long countProgress(List<WatchResponse> responses) {
    return responses.stream().filter(ProgressAndCompactionWatchTest::isProgress).count();
  }
}
