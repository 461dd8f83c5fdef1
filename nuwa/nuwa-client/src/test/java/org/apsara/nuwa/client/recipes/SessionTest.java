package org.apsara.nuwa.client.recipes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.apsara.nuwa.client.LeaseNotFoundException;
import org.apsara.nuwa.client.NuwaClient;
import org.apsara.nuwa.client.PutOptions;
import org.apsara.nuwa.client.testing.NuwaTestServer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.apsara.nuwa.client.testing.EtcdClientExtension;

class SessionTest {
  @RegisterExtension
  static final EtcdClientExtension etcd = new EtcdClientExtension("session");

  private NuwaClient client;

  @BeforeEach
  void connect() {
    client = etcd.client();
  }

  @Test
  void closingRevokesTheLeaseAndDeletesItsKeys() {
    String p = NuwaTestServer.uniquePrefix("session");
    Session session = Session.open(client, Duration.ofSeconds(30));
    client.kv().put(p + "k", "v", PutOptions.withLease(session.leaseId()));
    CompletableFuture<Void> done = session.done();
    assertThat(session.isAlive()).isTrue();
    assertThat(session.ttlSeconds()).isEqualTo(30);

    session.close();
    session.close();

    assertThat(done).isCompleted().isNotCompletedExceptionally();
    assertThat(session.isAlive()).isFalse();
    assertThat(client.kv().get(p + "k").isEmpty()).isTrue();
    assertThat(client.lease().timeToLive(session.leaseId(), false).exists()).isFalse();
  }

  @Test
  void sessionWhoseLeaseIsRevokedElsewhereEndsAsLost() {
    Session session = Session.open(client, Duration.ofSeconds(30));
    CompletableFuture<Void> done = session.done();

    client.lease().revoke(session.leaseId());

    await().atMost(Duration.ofSeconds(10)).until(done::isDone);
    assertThat(done)
        .failsWithin(Duration.ZERO)
        .withThrowableOfType(java.util.concurrent.ExecutionException.class)
        .withCauseInstanceOf(LeaseNotFoundException.class);
    assertThat(session.isAlive()).isFalse();
    session.close();
  }

  @Test
  void doneIsACopyThatCallersCannotComplete() {
    try (Session session = Session.open(client, Duration.ofSeconds(30))) {
      session.done().complete(null);
      session.done().completeExceptionally(new CompletionException(new RuntimeException()));
      assertThat(session.isAlive()).isTrue();
    }
  }
}
