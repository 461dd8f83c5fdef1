package org.apsara.nuwa.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.apsara.nuwa.client.testing.AuthEnabledEtcd;
import org.apsara.nuwa.client.testing.NuwaTestServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The client authenticating again, transparently, after a real etcd stopped accepting its token:
 * because etcd restarted (its default "simple" tokens live in memory only), or because the auth
 * state changed (its signed JWT tokens carry the auth revision they were issued at).
 */
class EtcdAuthRenewalTest {
  private static final Duration WAIT = Duration.ofSeconds(20);
  private static final String ALICE_PASSWORD = "alice-pw-0e2c";
  private static final int CONCURRENT_WRITES = 8;

  /**
   * etcd logs an Authenticate, with the simple token it hands out, and skips on restart only the
   * entries its backend committed as applied; it commits every 100 ms by default. A kill sooner
   * after an Authenticate replays it and brings the token back, so that nothing is refused. One
   * commit per write makes every acknowledged write mark the Authenticate before it as applied.
   */
  private static final String COMMIT_EVERY_WRITE = "--backend-batch-limit=1";

  private AuthEnabledEtcd etcd;
  private final List<NuwaClient> clients = new ArrayList<>();

  @TempDir Path keys;

  @AfterEach
  void stop() {
    clients.forEach(NuwaClient::close);
    if (etcd != null) {
      etcd.close();
    }
  }

  private NuwaClient alice(AuthenticationCounter counter) {
    NuwaClient client =
        NuwaClient.builder()
            .endpoints(etcd.endpoint())
            .requestTimeout(NuwaTestServer.TEST_REQUEST_TIMEOUT)
            .user("alice", ALICE_PASSWORD)
            .interceptor(counter)
            .build();
    clients.add(client);
    return client;
  }

  @Test
  void afterARestartLosesTheTokenTheClientAuthenticatesOnceForAllItsCallsAndStreams()
      throws Exception {
    etcd = AuthEnabledEtcd.start(List.of(COMMIT_EVERY_WRITE));
    etcd.addUser("alice", ALICE_PASSWORD, "/alice/");
    AuthenticationCounter counter = new AuthenticationCounter();
    NuwaClient alice = alice(counter);
    RecordingWatchListener listener = new RecordingWatchListener();
    alice.watch().watchPrefix("/alice/r/", listener);
    LeaseGrant lease = alice.lease().grant(30);
    List<NuwaException> losses = new CopyOnWriteArrayList<>();
    List<Long> renewals = new CopyOnWriteArrayList<>();
    LeaseKeeper keeper = alice.lease().keepAlive(lease.id(), recording(renewals, losses));
    alice.kv().put("/alice/r/before", "0");
    await().atMost(WAIT).until(() -> listener.events.size() == 1);
    assertThat(counter.succeeded()).isEqualTo(1);

    etcd.process().kill();
    etcd.process().restart();
    int renewalsBefore = renewals.size();

    // Writes too: a write refused for its token was not applied, so it is sent again.
    List<CompletableFuture<PutResponse>> puts = new ArrayList<>();
    for (int i = 0; i < CONCURRENT_WRITES; i++) {
      puts.add(
          alice
              .kv()
              .putAsync(
                  com.google.protobuf.ByteString.copyFromUtf8("/alice/r/after-" + i),
                  com.google.protobuf.ByteString.copyFromUtf8(Integer.toString(i)),
                  PutOptions.DEFAULT));
    }
    for (CompletableFuture<PutResponse> put : puts) {
      put.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    }

    // The watch reopened its stream with a token etcd accepts, whichever renewed it.
    await().atMost(WAIT).until(() -> listener.events.size() == 1 + CONCURRENT_WRITES);
    assertThat(counter.succeeded())
        .as("the calls and the watch refused after the restart share one authentication")
        .isEqualTo(2);

    // Again with nothing but the streams running: the watch, refused on creation, renews the
    // token by itself (etcd 3.4 does not check tokens on keep-alives).
    etcd.process().kill();
    etcd.process().restart();
    await().atMost(WAIT).until(() -> counter.succeeded() == 3);
    alice.kv().put("/alice/r/last", "9");
    await().atMost(WAIT).until(() -> listener.events.size() == 2 + CONCURRENT_WRITES);

    assertThat(counter.succeeded()).isEqualTo(3);
    assertThat(listener.keys()).doesNotHaveDuplicates().endsWith("/alice/r/last");
    assertThat(listener.errors).isEmpty();
    await().atMost(WAIT).until(() -> renewals.size() > renewalsBefore);
    assertThat(keeper.isAlive()).isTrue();
    assertThat(losses).isEmpty();
  }

  @Test
  void aChangeOfTheAuthStateMakesTheClientAuthenticateAgain() throws Exception {
    etcd = AuthEnabledEtcd.start(List.of(jwtTokens()));
    etcd.addUser("alice", ALICE_PASSWORD, "/alice/");
    AuthenticationCounter counter = new AuthenticationCounter();
    NuwaClient alice = alice(counter);
    alice.kv().put("/alice/j/k", "1");
    assertThat(counter.succeeded()).isEqualTo(1);

    // Any change of users, roles or permissions moves etcd's auth revision past the token's.
    etcd.root().run("role", "add", "unrelated-1");
    RecordingWatchListener listener = new RecordingWatchListener();
    Watcher watcher = alice.watch().watchPrefix("/alice/j/", listener);
    await().atMost(WAIT).until(() -> watcher.nextRevision() > 0);
    assertThat(counter.succeeded()).as("the watch was refused once, then created").isEqualTo(2);

    etcd.root().run("role", "add", "unrelated-2");
    alice.kv().put("/alice/j/k", "2");
    assertThat(counter.succeeded()).as("the put was refused once, then applied").isEqualTo(3);

    await().atMost(WAIT).until(() -> listener.events.size() == 1);
    assertThat(listener.describe()).containsExactly("PUT /alice/j/k=2");
    assertThat(alice.kv().get("/alice/j/k").first().orElseThrow().version()).isEqualTo(2);
  }

  /** etcd's signed tokens, with an RSA key pair made for the test. */
  private String jwtTokens() throws IOException, NoSuchAlgorithmException {
    KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
    generator.initialize(2048);
    KeyPair pair = generator.generateKeyPair();
    Path publicKey = keys.resolve("jwt.pub.pem");
    Path privateKey = keys.resolve("jwt.pem");
    Files.writeString(publicKey, pem("PUBLIC KEY", pair.getPublic().getEncoded()));
    Files.writeString(privateKey, pem("PRIVATE KEY", pair.getPrivate().getEncoded()));
    return "--auth-token=jwt,pub-key="
        + publicKey
        + ",priv-key="
        + privateKey
        + ",sign-method=RS256";
  }

  private static String pem(String type, byte[] der) {
    return "-----BEGIN "
        + type
        + "-----\n"
        + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
        + "\n-----END "
        + type
        + "-----\n";
  }

  private static LeaseKeepAliveListener recording(
      List<Long> renewals, List<NuwaException> losses) {
    return new LeaseKeepAliveListener() {
      @Override
      public void onRenewed(long leaseId, long ttlSeconds) {
        renewals.add(ttlSeconds);
      }

      @Override
      public void onLost(long leaseId, NuwaException cause) {
        losses.add(cause);
      }
    };
  }
}
