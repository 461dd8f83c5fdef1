package org.apsara.nuwa.client.recipes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apsara.nuwa.client.GetOptions;
import org.apsara.nuwa.client.KeyRange;
import org.apsara.nuwa.client.NuwaClient;
import org.apsara.nuwa.client.NuwaException;
import org.apsara.nuwa.client.testing.NuwaTestServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.apsara.nuwa.client.testing.EtcdClientExtension;

class DistributedLockTest {
  private static final Duration WAIT = Duration.ofSeconds(15);
  private static final Duration SHORT_TTL = Duration.ofSeconds(2);

  @RegisterExtension
  static final EtcdClientExtension etcd = new EtcdClientExtension("lock");

  private NuwaClient client;
  private final List<Session> sessions = new ArrayList<>();
  private final ExecutorService threads = Executors.newCachedThreadPool();
  private String name;

  @BeforeEach
  void connect() {
    client = etcd.client();
  }

  @BeforeEach
  void namespace() {
    name = NuwaTestServer.uniquePrefix("lock") + "mutex";
  }

  @AfterEach
  void cleanUp() throws InterruptedException {
    threads.shutdownNow();
    threads.awaitTermination(10, TimeUnit.SECONDS);
    sessions.forEach(Session::close);
  }

  private Session session(NuwaClient c, Duration ttl) {
    Session s = Session.open(c, ttl);
    sessions.add(s);
    return s;
  }

  @Test
  void onlyOneContenderAtATimeHoldsTheLockAndTurnsFollowCreateRevision() throws Exception {
    int contenders = 4;
    int rounds = 5;
    String counterKey = name + "-counter";
    client.kv().put(counterKey, "0");
    AtomicInteger inside = new AtomicInteger();
    AtomicInteger maxInside = new AtomicInteger();
    List<Long> fencingTokens = Collections.synchronizedList(new ArrayList<>());
    CountDownLatch start = new CountDownLatch(1);
    List<Future<?>> results = new ArrayList<>();
    for (int c = 0; c < contenders; c++) {
      DistributedLock lock = new DistributedLock(session(client, Duration.ofSeconds(30)), name);
      results.add(
          threads.submit(
              () -> {
                start.await();
                for (int r = 0; r < rounds; r++) {
                  lock.lock();
                  try {
                    maxInside.accumulateAndGet(inside.incrementAndGet(), Math::max);
                    fencingTokens.add(lock.revision());
                    // A read-modify-write that loses updates unless the lock excludes the others.
                    int value =
                        Integer.parseInt(
                            client.kv().get(counterKey).first().orElseThrow().valueUtf8());
                    client.kv().put(counterKey, Integer.toString(value + 1));
                    inside.decrementAndGet();
                  } finally {
                    lock.unlock();
                  }
                }
                return null;
              }));
    }
    start.countDown();
    for (Future<?> result : results) {
      result.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    }

    assertThat(maxInside.get()).isEqualTo(1);
    assertThat(client.kv().get(counterKey).first().orElseThrow().valueUtf8())
        .isEqualTo(Integer.toString(contenders * rounds));
    assertThat(fencingTokens).hasSize(contenders * rounds).isSorted().doesNotHaveDuplicates();
    assertThat(client.kv().get(KeyRange.prefix(name + "/"), GetOptions.DEFAULT).count()).isZero();
  }

  @Test
  void tryLockFailsWhileHeldAndLeavesNoKeyBehind() throws Exception {
    DistributedLock holder = new DistributedLock(session(client, Duration.ofSeconds(30)), name);
    DistributedLock other = new DistributedLock(session(client, Duration.ofSeconds(30)), name);
    holder.lock();

    assertThat(other.tryLock()).isFalse();
    assertThat(other.tryLock(Duration.ofMillis(300))).isFalse();
    assertThat(client.kv().get(KeyRange.prefix(name + "/"), GetOptions.DEFAULT).kvs())
        .singleElement()
        .satisfies(kv -> assertThat(kv.key()).isEqualTo(holder.key()));
    assertThat(holder.holder())
        .hasValueSatisfying(kv -> assertThat(kv.key()).isEqualTo(holder.key()));

    holder.unlock();
    assertThat(other.tryLock()).isTrue();
    assertThat(other.isHeld()).isTrue();
    assertThatThrownBy(other::tryLock).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(holder::unlock).isInstanceOf(IllegalStateException.class);
    other.unlock();
  }

  @Test
  void waitingContenderGetsTheLockWhenTheHoldersProcessDies() throws Exception {
    NuwaClient doomed = NuwaTestServer.newClient();
    DistributedLock holder = new DistributedLock(Session.open(doomed, SHORT_TTL), name);
    holder.lock();
    DistributedLock waiter = new DistributedLock(session(client, Duration.ofSeconds(30)), name);
    Future<?> waiting =
        threads.submit(
            () -> {
              waiter.lock();
              return null;
            });
    await().pollDelay(Duration.ofMillis(300)).atMost(WAIT).until(() -> !waiting.isDone());

    // As if the holder's process died: its keep-alive stops and nothing revokes the lease.
    doomed.close();

    waiting.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    assertThat(waiter.isHeld()).isTrue();
    assertThat(waiter.holder())
        .hasValueSatisfying(kv -> assertThat(kv.key()).isEqualTo(waiter.key()));
    waiter.unlock();
  }

  @Test
  void closedSessionReleasesTheLockAtOnce() throws Exception {
    Session holderSession = Session.open(client, Duration.ofSeconds(30));
    DistributedLock holder = new DistributedLock(holderSession, name);
    holder.lock();
    DistributedLock waiter = new DistributedLock(session(client, Duration.ofSeconds(30)), name);

    holderSession.close();

    assertThat(holder.isHeld()).isFalse();
    assertThat(waiter.tryLock(Duration.ofSeconds(5))).isTrue();
    waiter.unlock();
  }

  @Test
  void waiterIsWokenWithAnErrorWhenItsClientCloses() throws Exception {
    DistributedLock holder = new DistributedLock(session(client, Duration.ofSeconds(30)), name);
    holder.lock();
    NuwaClient closing = NuwaTestServer.newClient();
    Session waiterSession = Session.open(closing, Duration.ofSeconds(30));
    DistributedLock waiter = new DistributedLock(waiterSession, name);
    Future<?> waiting =
        threads.submit(
            () -> {
              waiter.lock();
              return null;
            });
    await().pollDelay(Duration.ofMillis(300)).atMost(WAIT).until(() -> !waiting.isDone());

    closing.close();

    assertThatThrownBy(() -> waiting.get(WAIT.toSeconds(), TimeUnit.SECONDS))
        .isInstanceOf(java.util.concurrent.ExecutionException.class)
        .hasCauseInstanceOf(NuwaException.class);
    assertThat(waiter.isHeld()).isFalse();
    // The session hears of its lost lease on the callback executor, maybe after the waiter woke.
    await().atMost(WAIT).until(() -> !waiterSession.isAlive());
    holder.unlock();
  }

}
