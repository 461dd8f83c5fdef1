package org.apsara.nuwa.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.PutResponse;
import io.etcd.jetcd.api.RangeRequest;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Concurrent writes share log entries (group commit), yet each is applied on its own: its own
 * revision, its own reply, and a failing write takes none of its neighbours down with it.
 */
class GroupCommitTest {
  private static final int WRITES = 200;

  @TempDir Path dir;

  @Test
  void concurrentWritesAreEachAppliedOnTheirOwn() throws Exception {
    concurrentWritesAreEachAppliedOnTheirOwn(config -> { });
  }

  @Test
  void soAreTheyWhenTheLeaderSendsEntriesWithoutWaiting() throws Exception {
    concurrentWritesAreEachAppliedOnTheirOwn(config -> config.appendBatchWait(Duration.ZERO));
  }

  private void concurrentWritesAreEachAppliedOnTheirOwn(Consumer<NuwaConfig.Builder> customize)
      throws Exception {
    try (NuwaTestCluster cluster = NuwaTestCluster.start(dir, 3, customize)) {
      int leader = cluster.awaitLeader();
      ManagedChannel channel = NettyChannelBuilder.forTarget(cluster.endpoint(leader))
          .usePlaintext().build();
      try {
        KVGrpc.KVFutureStub kv = KVGrpc.newFutureStub(channel);
        List<CompletableFuture<PutResponse>> puts = new ArrayList<>();
        for (int i = 0; i < WRITES; i++) {
          PutRequest.Builder put = PutRequest.newBuilder()
              .setKey(ByteString.copyFromUtf8("g/" + i))
              .setValue(ByteString.copyFromUtf8("v" + i));
          if (i % 5 == 0) {
            put.setLease(999_999); // no such lease: this write alone must fail
          }
          var future = kv.withDeadlineAfter(30, TimeUnit.SECONDS).put(put.build());
          CompletableFuture<PutResponse> result = new CompletableFuture<>();
          future.addListener(() -> {
            try {
              result.complete(future.get());
            } catch (Exception e) {
              result.completeExceptionally(e.getCause() == null ? e : e.getCause());
            }
          }, Runnable::run);
          puts.add(result);
        }
        Set<Long> revisions = new HashSet<>();
        for (int i = 0; i < WRITES; i++) {
          if (i % 5 == 0) {
            assertThat(puts.get(i)).failsWithin(java.time.Duration.ofSeconds(30))
                .withThrowableOfType(java.util.concurrent.ExecutionException.class)
                .havingCause().isInstanceOf(StatusRuntimeException.class)
                .satisfies(e -> assertThat(Status.fromThrowable(e).getDescription())
                    .isEqualTo("etcdserver: requested lease not found"));
          } else {
            revisions.add(puts.get(i).join().getHeader().getRevision());
          }
        }
        int succeeded = WRITES - WRITES / 5;
        assertThat(revisions).as("one revision per successful write").hasSize(succeeded);
        long count = KVGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
            .range(RangeRequest.newBuilder().setKey(ByteString.copyFromUtf8("g/"))
                .setRangeEnd(ByteString.copyFromUtf8("g0")).setCountOnly(true).build())
            .getCount();
        assertThat(count).isEqualTo(succeeded);
      } catch (CompletionException e) {
        throw new AssertionError(e.getCause());
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }
}
