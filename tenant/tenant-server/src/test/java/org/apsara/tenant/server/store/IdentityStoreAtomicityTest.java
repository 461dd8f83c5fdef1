package org.apsara.tenant.server.store;

import static org.apsara.tenant.server.store.StoreTesting.assertFails;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Status.Code;
import io.grpc.StatusRuntimeException;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apsara.nuwa.client.KeyValue;
import org.apsara.nuwa.client.NuwaClient;
import org.apsara.security.crypto.MasterKey;
import org.apsara.security.crypto.SecretBox;
import org.apsara.security.crypto.SecretBoxException;
import org.apsara.tenant.api.CreatedAccessKey;
import org.apsara.tenant.server.NuwaFixture;
import org.apsara.tenant.server.store.proto.AccessKeyRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Changes are all-or-nothing and serialize under concurrency; secrets are never stored in clear.
 */
class IdentityStoreAtomicityTest {
  /** Threads racing in the concurrency tests: enough to collide, few enough for two cores. */
  private static final int RACERS = 4;
  private static final long RACE_TIMEOUT_SECONDS = 60;

  private static NuwaClient client;
  private static SecretBox secretBox;
  private static IdentityStore store;
  private ExecutorService threads;
  private String tenant;

  @BeforeAll
  static void connect() throws Exception {
    client = NuwaFixture.shared().newClient();
    secretBox = new SecretBox(MasterKey.generate(new SecureRandom()));
    store = new IdentityStore(client, secretBox, Clock.systemUTC());
  }

  @AfterAll
  static void disconnect() {
    client.close();
  }

  @BeforeEach
  void setUp() {
    threads = Executors.newFixedThreadPool(RACERS);
    tenant = NuwaFixture.uniqueName("acme");
    store.createTenant(tenant, "");
  }

  @AfterEach
  void tearDown() {
    store.beforeCommit = () -> {};
    threads.shutdownNow();
  }

  @Test
  void aChangeThatLostARaceIsDecidedAgainAndFailsForTheRightReason() {
    // Between deciding to create the user and committing it, the tenant goes away.
    store.beforeCommit = () -> {
      store.beforeCommit = () -> {};
      store.deleteTenant(tenant);
    };

    assertFails(Code.NOT_FOUND, () -> store.createUser(tenant, "alice", ""),
        "tenant " + tenant + " does not exist");
    assertThat(StoreTesting.rawKeys(client, IdentityKeys.usersOf(tenant))).isEmpty();
  }

  @Test
  void aUserDeletedWhileItsMembershipIsAddedLeavesNoMembershipBehind() {
    store.createUser(tenant, "alice", "");
    store.createGroup(tenant, "devs", "");
    store.beforeCommit = () -> {
      store.beforeCommit = () -> {};
      store.deleteUser(tenant, "alice");
    };

    assertFails(Code.NOT_FOUND, () -> store.addUserToGroup(tenant, "alice", "devs"),
        "user alice does not exist");
    assertThat(StoreTesting.rawKeys(client, IdentityKeys.membershipsOf(tenant))).isEmpty();
  }

  @Test
  void failedChangesLeaveTheStoreAsItWas() {
    store.createUser(tenant, "alice", "");
    store.createAccessKey(tenant, "alice");
    store.createAccessKey(tenant, "alice");
    store.createGroup(tenant, "devs", "");
    store.addUserToGroup(tenant, "alice", "devs");
    store.createPolicy(tenant, "ReadUsers", IdentityStoreTest.ALLOW_GET_USER, "");
    store.attachPolicyToUser(tenant, "ReadUsers", "alice");
    Map<String, Long> before = StoreTesting.rawState(client, IdentityKeys.ROOT);

    List<Runnable> failing = List.of(
        () -> store.createTenant(tenant, ""),
        () -> store.createUser(tenant, "alice", ""),
        () -> store.createAccessKey(tenant, "alice"),
        () -> store.addUserToGroup(tenant, "alice", "devs"),
        () -> store.addUserToGroup(tenant, "alice", "qa"),
        () -> store.attachPolicyToUser(tenant, "Missing", "alice"),
        () -> store.attachPolicyToGroup(tenant, "ReadUsers", "qa"),
        () -> store.deletePolicy(tenant, "ReadUsers"),
        () -> store.deleteGroup(tenant, "devs"),
        () -> store.deleteTenant(tenant),
        () -> store.createPolicy(tenant, "Broken", "{\"Version\": \"2\"}", ""));
    for (Runnable change : failing) {
      assertThatThrownBy(change::run).isInstanceOf(StatusRuntimeException.class);
    }

    assertThat(StoreTesting.rawState(client, IdentityKeys.ROOT)).isEqualTo(before);
  }

  @Test
  void concurrentCreatesOfOneUserHaveExactlyOneWinner() throws Exception {
    List<Code> outcomes = race(() -> store.createUser(tenant, "alice", ""));

    assertThat(outcomes).containsOnly(Code.OK, Code.ALREADY_EXISTS);
    assertThat(outcomes).filteredOn(code -> code == Code.OK).hasSize(1);
  }

  @Test
  void aTenantDeletedWhileUsersAreCreatedLeavesNoOrphans() throws Exception {
    List<Callable<Object>> changes = new ArrayList<>();
    changes.add(() -> {
      store.deleteTenant(tenant);
      return null;
    });
    for (int i = 1; i < RACERS; i++) {
      String user = "user" + i;
      changes.add(() -> store.createUser(tenant, user, ""));
    }

    List<Code> outcomes = race(changes);

    boolean tenantDeleted = outcomes.get(0) == Code.OK;
    List<String> users = StoreTesting.rawKeys(client, IdentityKeys.usersOf(tenant));
    if (tenantDeleted) {
      assertThat(users).isEmpty();
      assertThat(StoreTesting.rawKeys(client, IdentityKeys.tenant(tenant))).isEmpty();
    } else {
      assertThat(outcomes.get(0)).isEqualTo(Code.FAILED_PRECONDITION);
      assertThat(users).isNotEmpty();
    }
    // Every user creation either committed before the deletion or saw the tenant gone.
    assertThat(outcomes.subList(1, outcomes.size())).isSubsetOf(Code.OK, Code.NOT_FOUND);
  }

  @Test
  void concurrentKeyCreationsStopAtTheLimit() throws Exception {
    store.createUser(tenant, "alice", "");

    List<Code> outcomes = race(() -> store.createAccessKey(tenant, "alice"));

    assertThat(outcomes).filteredOn(code -> code == Code.OK).hasSize(2);
    assertThat(outcomes).filteredOn(code -> code == Code.FAILED_PRECONDITION)
        .hasSize(RACERS - 2);
    assertThat(store.listAccessKeys(tenant, "alice")).hasSize(2);
  }

  @Test
  void secretsAreSealedAtRestAndBoundToTheirKeyId() throws Exception {
    store.createUser(tenant, "alice", "");
    CreatedAccessKey first = store.createAccessKey(tenant, "alice");
    CreatedAccessKey second = store.createAccessKey(tenant, "alice");
    String secret = first.credentials().accessKeySecret();

    for (KeyValue kv : client.kv().getPrefix(IdentityKeys.ROOT).kvs()) {
      assertThat(kv.value().toString(StandardCharsets.ISO_8859_1)).doesNotContain(secret);
      assertThat(kv.keyUtf8()).doesNotContain(secret);
    }
    String id = first.accessKey().getAccessKeyId();
    AccessKeyRecord record = AccessKeyRecord.parseFrom(
        client.kv().get(IdentityKeys.accessKey(tenant, "alice", id)).first().orElseThrow().value());
    byte[] sealed = record.getSealedSecret().toByteArray();
    assertThat(new String(secretBox.decrypt(sealed, IdentityStore.associatedData(id)),
        StandardCharsets.UTF_8)).isEqualTo(secret);
    // Copied onto another key's record, the sealed secret does not open.
    assertThatThrownBy(() -> secretBox.decrypt(
            sealed, IdentityStore.associatedData(second.accessKey().getAccessKeyId())))
        .isInstanceOf(SecretBoxException.class);
  }

  /** Runs the same change on every racer at once; returns each one's status code. */
  private List<Code> race(Callable<Object> change) throws Exception {
    List<Callable<Object>> changes = new ArrayList<>();
    for (int i = 0; i < RACERS; i++) {
      changes.add(change);
    }
    return race(changes);
  }

  /** Runs the changes at once, one per racer; returns their status codes in the same order. */
  private List<Code> race(List<Callable<Object>> changes) throws Exception {
    CountDownLatch start = new CountDownLatch(1);
    List<Future<Code>> futures = new ArrayList<>();
    for (Callable<Object> change : changes) {
      futures.add(threads.submit(() -> {
        start.await();
        try {
          change.call();
          return Code.OK;
        } catch (StatusRuntimeException e) {
          return e.getStatus().getCode();
        }
      }));
    }
    start.countDown();
    List<Code> codes = new ArrayList<>();
    for (Future<Code> future : futures) {
      codes.add(future.get(RACE_TIMEOUT_SECONDS, TimeUnit.SECONDS));
    }
    return codes;
  }
}
