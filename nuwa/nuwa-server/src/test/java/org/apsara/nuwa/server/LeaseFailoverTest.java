package org.apsara.nuwa.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import org.apsara.nuwa.client.LeaseGrant;
import org.apsara.nuwa.client.LeaseKeepAliveListener;
import org.apsara.nuwa.client.LeaseKeeper;
import org.apsara.nuwa.client.LeaseNotFoundException;
import org.apsara.nuwa.client.LeaseTimeToLive;
import org.apsara.nuwa.client.NuwaClient;
import org.apsara.nuwa.client.NuwaException;
import org.apsara.nuwa.client.PutOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Leases across a leader change: the new leader never expires a lease earlier than its TTL allows,
 * keep-alives carry on through the change, and a lease nobody renews still expires and takes its
 * keys with it.
 */
class LeaseFailoverTest {
  private static final long TTL_SECONDS = 5;
  private static final Duration TTL = Duration.ofSeconds(TTL_SECONDS);
  /**
   * Slack for an expiry to be noticed and its revocation committed: the leader checks every
   * 100 ms, plus a commit and, on this shared machine, scheduling delays.
   */
  private static final Duration EXPIRY_SLACK = Duration.ofSeconds(4);
  private static final Duration POLL = Duration.ofMillis(200);
  /** The keeper renews every third of the TTL, so its last renewal is at most this old. */
  private static final Duration LAST_RENEWAL_AGE_MAX = TTL.dividedBy(3);

  @TempDir Path dir;
  private NuwaTestCluster cluster;
  private NuwaClient client;

  @AfterEach
  void stop() {
    if (client != null) {
      client.close();
    }
    if (cluster != null) {
      cluster.close();
    }
  }

  private void start() {
    cluster = NuwaTestCluster.start(dir, 3);
    client = NuwaClient.builder().endpoints(cluster.endpoints()).build();
  }

  /** Records what the keeper says; a lost lease is the failure this test looks for. */
  private static final class KeeperEvents implements LeaseKeepAliveListener {
    final List<Long> renewedTtls = new CopyOnWriteArrayList<>();
    final List<NuwaException> lost = new CopyOnWriteArrayList<>();

    @Override
    public void onRenewed(long leaseId, long ttlSeconds) {
      renewedTtls.add(ttlSeconds);
    }

    @Override
    public void onLost(long leaseId, NuwaException cause) {
      lost.add(cause);
    }
  }

  @Test
  void keptAliveLeaseSurvivesLeaderChangeAndExpiresOnceKeepAlivesStop() {
    start();
    LeaseGrant lease = client.lease().grant(TTL_SECONDS);
    assertThat(lease.ttlSeconds()).isEqualTo(TTL_SECONDS);
    client.kv().put("leased", "v", PutOptions.withLease(lease.id()));
    KeeperEvents events = new KeeperEvents();
    LeaseKeeper keeper = client.lease().keepAlive(lease.id(), events);
    // Keep it alive past one TTL first: the followers' deadlines, set when they applied the
    // grant and never renewed, have run out by then, so a new leader that trusted them instead
    // of giving every lease a full TTL would expire this one at once.
    await().during(TTL.plusSeconds(1)).atMost(TTL.plus(EXPIRY_SLACK)).pollInterval(POLL)
        .until(() -> keyExists("leased") && events.lost.isEmpty());
    assertThat(events.renewedTtls).isNotEmpty();

    int oldLeader = cluster.awaitLeader();
    cluster.stopMember(oldLeader);
    int newLeader = cluster.awaitLeader();
    assertThat(newLeader).isNotEqualTo(oldLeader);
    int renewalsBefore = events.renewedTtls.size();

    // Two TTLs under the new leader with keep-alives running: lease and key stay the whole time.
    await().during(TTL.multipliedBy(2)).atMost(TTL.multipliedBy(2).plus(EXPIRY_SLACK))
        .pollInterval(POLL)
        .until(() -> keyExists("leased") && events.lost.isEmpty());
    assertThat(events.renewedTtls.size()).as("renewals under the new leader")
        .isGreaterThan(renewalsBefore);
    assertThat(events.renewedTtls).containsOnly(TTL_SECONDS);
    LeaseTimeToLive alive = client.lease().timeToLive(lease.id(), true);
    assertThat(alive.ttlSeconds()).isBetween(1L, TTL_SECONDS);
    assertThat(alive.keys()).hasSize(1);

    // Without keep-alives the lease runs out, and its key goes with it.
    keeper.close();
    long stoppedNanos = System.nanoTime();
    await().atMost(TTL.plus(EXPIRY_SLACK)).pollInterval(POLL).until(() -> !keyExists("leased"));
    assertThat(Duration.ofNanos(System.nanoTime() - stoppedNanos))
        .as("the key outlived the keep-alives by a TTL less one renewal interval at least")
        .isGreaterThanOrEqualTo(TTL.minus(LAST_RENEWAL_AGE_MAX));
    assertThat(leaseExists(lease.id())).isFalse();
    assertThat(events.lost).isEmpty();
  }

  @Test
  void leaseGrantedJustBeforeLeaderChangeLivesAtLeastItsTtlFromTheGrant() {
    start();
    long grantSentNanos = System.nanoTime();
    LeaseGrant lease = client.lease().grant(TTL_SECONDS);
    client.kv().put("short-lived", "v", PutOptions.withLease(lease.id()));
    int oldLeader = cluster.awaitLeader();
    cluster.stopMember(oldLeader);

    // Until the TTL has passed since the grant was sent, the lease (and its key) must exist,
    // whoever leads. Queries may fail while there is no leader; those prove nothing either way.
    AtomicLong checks = new AtomicLong();
    await().atMost(TTL.plus(EXPIRY_SLACK)).pollInterval(POLL).until(() -> {
      long sentNanos = System.nanoTime();
      if (sentNanos - grantSentNanos >= TTL.toNanos()) {
        return true;
      }
      LeaseTimeToLive ttl;
      try {
        ttl = client.lease().timeToLive(lease.id(), true);
      } catch (LeaseNotFoundException e) {
        ttl = new LeaseTimeToLive(lease.id(), -1, 0, List.of());
      } catch (NuwaException unavailable) {
        return false;
      }
      assertThat(ttl.ttlSeconds())
          .as("time to live %.1f s after the grant", (sentNanos - grantSentNanos) / 1e9)
          .isPositive();
      assertThat(ttl.keys()).hasSize(1);
      checks.incrementAndGet();
      return false;
    });
    assertThat(checks.get()).as("time-to-live answers while the TTL ran").isPositive();
    // Nobody renews it: the new leader gave it a full TTL when it took office, no more.
    await().atMost(TTL.plus(EXPIRY_SLACK)).pollInterval(POLL)
        .until(() -> !keyExists("short-lived"));
    assertThat(leaseExists(lease.id())).isFalse();
  }

  private boolean keyExists(String key) {
    return !client.kv().get(key).isEmpty();
  }

  private boolean leaseExists(long id) {
    return client.lease().leases().contains(id);
  }
}
