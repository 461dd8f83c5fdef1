package org.apsara.nuwa.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.apsara.nuwa.client.testing.EtcdClientExtension;

class LeaseClientTest {
  /** The shortest TTL both etcd and Nuwa grant as asked. */
  private static final long SHORT_TTL_SECONDS = 2;

  private static final Duration WAIT = Duration.ofSeconds(10);

  @RegisterExtension
  static final EtcdClientExtension etcd = new EtcdClientExtension("lease");

  private NuwaClient client;
  private LeaseClient leases;
  private String p;

  @BeforeEach
  void bind() {
    client = etcd.client();
    leases = client.lease();
    p = etcd.prefix();
  }

  @Test
  void grantedLeaseReportsItsTtlKeysAndIsListed() {
    LeaseGrant lease = leases.grant(30);
    try {
      client.kv().put(p + "a", "1", PutOptions.withLease(lease.id()));
      client.kv().put(p + "b", "2", PutOptions.withLease(lease.id()));

      LeaseTimeToLive ttl = leases.timeToLive(lease.id(), true);
      assertThat(lease.ttlSeconds()).isEqualTo(30);
      assertThat(ttl.exists()).isTrue();
      assertThat(ttl.grantedTtlSeconds()).isEqualTo(30);
      assertThat(ttl.ttlSeconds()).isBetween(1L, 30L);
      assertThat(ttl.keys())
          .extracting(ByteString::toStringUtf8)
          .containsExactlyInAnyOrder(p + "a", p + "b");
      assertThat(leases.timeToLive(lease.id(), false).keys()).isEmpty();
      assertThat(leases.leases()).contains(lease.id());
    } finally {
      leases.revoke(lease.id());
    }
  }

  @Test
  void revokeDeletesAttachedKeysAndForgetsTheLease() {
    LeaseGrant lease = leases.grant(30);
    client.kv().put(p + "a", "1", PutOptions.withLease(lease.id()));
    client.kv().put(p + "unleased", "2");

    leases.revoke(lease.id());

    assertThat(client.kv().getPrefix(p).kvs())
        .extracting(KeyValue::keyUtf8)
        .containsExactly(p + "unleased");
    assertThat(leases.timeToLive(lease.id(), false).exists()).isFalse();
    assertThat(leases.leases()).doesNotContain(lease.id());
    assertThatThrownBy(() -> leases.revoke(lease.id()))
        .isInstanceOf(LeaseNotFoundException.class)
        .hasMessage("etcdserver: requested lease not found");
  }

  @Test
  void leaseThatIsNotKeptAliveExpiresAndItsKeysAreDeleted() {
    LeaseGrant lease = leases.grant(SHORT_TTL_SECONDS);
    client.kv().put(p + "ephemeral", "1", PutOptions.withLease(lease.id()));
    RecordingWatchListener deletions = new RecordingWatchListener();
    try (Watcher watcher =
        client
            .watch()
            .watch(
                KeyRange.key(p + "ephemeral"),
                WatchOptions.builder().noPut(true).build(),
                deletions)) {
      await().atMost(WAIT).until(() -> deletions.events.size() == 1);
      assertThat(watcher.isClosed()).isFalse();
      assertThat(client.kv().get(p + "ephemeral").isEmpty()).isTrue();
      assertThat(leases.timeToLive(lease.id(), false).exists()).isFalse();
    }
  }

  @Test
  void keepAliveKeepsTheLeasePastItsTtlUntilClosed() {
    LeaseGrant lease = leases.grant(SHORT_TTL_SECONDS);
    client.kv().put(p + "kept", "1", PutOptions.withLease(lease.id()));
    AtomicInteger renewals = new AtomicInteger();
    List<NuwaException> losses = new CopyOnWriteArrayList<>();
    LeaseKeeper keeper =
        leases.keepAlive(
            lease.id(),
            new LeaseKeepAliveListener() {
              @Override
              public void onRenewed(long leaseId, long ttlSeconds) {
                renewals.incrementAndGet();
              }

              @Override
              public void onLost(long leaseId, NuwaException cause) {
                losses.add(cause);
              }
            });

    // Half as long again as the TTL: without renewals the key would be gone.
    await()
        .during(Duration.ofMillis(1500 * SHORT_TTL_SECONDS))
        .atMost(Duration.ofSeconds(2 * SHORT_TTL_SECONDS + 2))
        .until(() -> !client.kv().get(p + "kept").isEmpty());
    assertThat(renewals.get()).isGreaterThanOrEqualTo(2);
    assertThat(keeper.ttlSeconds()).isEqualTo(SHORT_TTL_SECONDS);
    assertThat(keeper.isAlive()).isTrue();

    keeper.close();
    await().atMost(WAIT).until(() -> client.kv().get(p + "kept").isEmpty());
    assertThat(losses).isEmpty();
    assertThat(keeper.isAlive()).isFalse();
  }

  @Test
  void keepAliveReportsALeaseRevokedElsewhereAsLost() {
    LeaseGrant lease = leases.grant(30);
    List<NuwaException> losses = new CopyOnWriteArrayList<>();
    AtomicInteger renewals = new AtomicInteger();
    LeaseKeeper keeper =
        leases.keepAlive(
            lease.id(),
            new LeaseKeepAliveListener() {
              @Override
              public void onRenewed(long leaseId, long ttlSeconds) {
                renewals.incrementAndGet();
              }

              @Override
              public void onLost(long leaseId, NuwaException cause) {
                losses.add(cause);
              }
            });
    await().atMost(WAIT).until(() -> renewals.get() > 0);

    leases.revoke(lease.id());

    await().atMost(WAIT).until(() -> losses.size() == 1);
    assertThat(losses.get(0)).isInstanceOf(LeaseNotFoundException.class);
    assertThat(keeper.isAlive()).isFalse();
  }

  @Test
  void keepAliveOfAnUnknownLeaseIsLostAtOnce() {
    List<NuwaException> losses = new CopyOnWriteArrayList<>();
    try (LeaseKeeper keeper =
        leases.keepAlive(
            0x5eed_1e45eL,
            new LeaseKeepAliveListener() {
              @Override
              public void onLost(long leaseId, NuwaException cause) {
                losses.add(cause);
              }
            })) {
      await().atMost(WAIT).until(() -> losses.size() == 1);
      assertThat(losses.get(0)).isInstanceOf(LeaseNotFoundException.class);
      assertThat(keeper.isAlive()).isFalse();
    }
  }

  @Test
  void grantRejectsTtlsOutsideTheLimits() {
    assertThatThrownBy(() -> leases.grant(0)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> leases.grant(org.apsara.nuwa.api.NuwaLimits.MAX_LEASE_TTL_SECONDS + 1))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
