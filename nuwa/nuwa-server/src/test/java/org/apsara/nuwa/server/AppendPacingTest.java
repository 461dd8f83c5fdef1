package org.apsara.nuwa.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.PutRequest;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The append batch wait gathers entries only while a message to a follower is unanswered: a lone
 * writer, whose entry finds nothing outstanding, is not held back by it.
 */
class AppendPacingTest {
  /** The longest wait allowed, so that a put held back by it could not be mistaken. */
  private static final Duration APPEND_BATCH_WAIT = NuwaConfig.APPEND_BATCH_WAIT_MAX;
  private static final int PUTS = 15;

  @TempDir Path dir;

  @Test
  void aLoneWritersPutsDoNotWaitForTheAppendBatchWait() throws Exception {
    try (NuwaTestCluster cluster =
        NuwaTestCluster.start(dir, 3, config -> config.appendBatchWait(APPEND_BATCH_WAIT))) {
      int leader = cluster.awaitLeader();
      ManagedChannel channel = NettyChannelBuilder.forTarget(cluster.endpoint(leader))
          .usePlaintext().build();
      try {
        KVGrpc.KVBlockingStub kv = KVGrpc.newBlockingStub(channel);
        put(kv, "warm-up"); // the first put opens the connections; it is not measured
        long[] tookNanos = new long[PUTS];
        for (int i = 0; i < PUTS; i++) {
          long start = System.nanoTime();
          put(kv, "lone/" + i);
          tookNanos[i] = System.nanoTime() - start;
        }
        Arrays.sort(tookNanos);
        // Each put is sent right after the previous one was answered, well within the wait of
        // the message that carried the previous one: paced after every message, as Ratis does,
        // every put would take the whole wait.
        assertThat(Duration.ofNanos(tookNanos[PUTS / 2]))
            .as("median put (all: %s ns)", Arrays.toString(tookNanos))
            .isLessThan(APPEND_BATCH_WAIT.dividedBy(2));
      } finally {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  private static void put(KVGrpc.KVBlockingStub kv, String key) {
    kv.withDeadlineAfter(30, TimeUnit.SECONDS).put(PutRequest.newBuilder()
        .setKey(ByteString.copyFromUtf8(key)).setValue(ByteString.copyFromUtf8("v")).build());
  }
}
