package org.apsara.nuwa.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.RangeRequest;
import io.etcd.jetcd.api.RangeResponse;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A steady stream of linearizable reads on every member leaves writes going, and each read sees
 * every write acknowledged before it started. Reads share read index rounds; a member that
 * served them on the thread that applies the log, each round starting the next at once, would
 * stop applying, and the writes below would time out.
 */
class ReadsUnderLoadTest {
  private static final int READERS_PER_MEMBER = 16;
  private static final int WRITES = 200;

  @TempDir Path dir;

  @Test
  // A member stuck serving reads never comes back, not even to close: fail rather than hang.
  @Timeout(value = 3, unit = TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void writesGoOnAndReadsSeeThemWhileEveryMemberServesManyReads() throws Exception {
    try (NuwaTestCluster cluster = NuwaTestCluster.start(dir, 3)) {
      int leader = cluster.awaitLeader();
      List<ManagedChannel> channels = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        channels.add(NettyChannelBuilder.forTarget(cluster.endpoint(i)).usePlaintext().build());
      }
      ExecutorService readers = Executors.newFixedThreadPool(3 * READERS_PER_MEMBER);
      AtomicBoolean writing = new AtomicBoolean(true);
      // The highest value of the counter key acknowledged so far.
      AtomicLong acknowledged = new AtomicLong(-1);
      AtomicLong reads = new AtomicLong();
      try {
        KVGrpc.KVBlockingStub writer = KVGrpc.newBlockingStub(channels.get(leader));
        put(writer, 0);
        acknowledged.set(0);
        List<Future<?>> readerResults = new ArrayList<>();
        for (int r = 0; r < 3 * READERS_PER_MEMBER; r++) {
          KVGrpc.KVBlockingStub kv = KVGrpc.newBlockingStub(channels.get(r % 3));
          readerResults.add(readers.submit(() -> {
            while (writing.get()) {
              long before = acknowledged.get();
              RangeResponse response = kv.withDeadlineAfter(30, TimeUnit.SECONDS)
                  .range(RangeRequest.newBuilder().setKey(ByteString.copyFromUtf8("counter"))
                      .build());
              long seen = Long.parseLong(response.getKvs(0).getValue().toStringUtf8());
              assertThat(seen).as("a linearizable read after write %d", before)
                  .isGreaterThanOrEqualTo(before);
              reads.incrementAndGet();
            }
            return null;
          }));
        }
        for (int i = 1; i <= WRITES; i++) {
          put(writer, i);
          acknowledged.set(i);
        }
        writing.set(false);
        for (Future<?> reader : readerResults) {
          reader.get(60, TimeUnit.SECONDS);
        }
        assertThat(reads.get()).isGreaterThan(WRITES);
      } finally {
        writing.set(false);
        readers.shutdownNow();
        for (ManagedChannel channel : channels) {
          channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
      }
    }
  }

  private static void put(KVGrpc.KVBlockingStub kv, long value) {
    kv.withDeadlineAfter(10, TimeUnit.SECONDS).put(PutRequest.newBuilder()
        .setKey(ByteString.copyFromUtf8("counter"))
        .setValue(ByteString.copyFromUtf8(Long.toString(value))).build());
  }
}
