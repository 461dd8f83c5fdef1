package org.apsara.nuwa.client.recipes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.grpc.Status;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apsara.nuwa.client.NuwaClient;
import org.apsara.nuwa.client.NuwaException;
import org.apsara.nuwa.client.testing.NuwaTestServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.apsara.nuwa.client.testing.EtcdClientExtension;

class ServiceRegistryTest {
  private static final Duration WAIT = Duration.ofSeconds(15);

  @RegisterExtension
  static final EtcdClientExtension etcd = new EtcdClientExtension("registry");

  private NuwaClient client;
  private final List<AutoCloseable> toClose = new ArrayList<>();
  private ServiceRegistry registry;

  @BeforeEach
  void freshRoot() {
    client = etcd.client();
    registry = new ServiceRegistry(client, etcd.prefix());
  }

  @AfterEach
  void cleanUp() throws Exception {
    for (int i = toClose.size() - 1; i >= 0; i--) {
      toClose.get(i).close();
    }
  }

  private Session session(NuwaClient c, Duration ttl) {
    Session s = Session.open(c, ttl);
    toClose.add(s);
    return s;
  }

  @Test
  void registeredInstancesAreDiscoveredWithAddressAndMetadata() {
    Session session = session(client, Duration.ofSeconds(30));
    ServiceInstance a =
        new ServiceInstance(
            "pangu", "node-a", "10.0.0.1:7000", Map.of("zone", "a", "version", "1.4"));
    ServiceInstance b = new ServiceInstance("pangu", "node-b", "10.0.0.2:7000");
    registry.register(session, b);
    registry.register(session, a);
    registry.register(session, new ServiceInstance("fuxi", "master", "10.0.0.3:9000"));

    assertThat(registry.discover("pangu")).containsExactly(a, b);
    assertThat(registry.discover("fuxi"))
        .extracting(ServiceInstance::address)
        .containsExactly("10.0.0.3:9000");
    assertThat(registry.discover("nobody")).isEmpty();
  }

  @Test
  void watchersSeeInstancesComeChangeAndGo() {
    Session session = session(client, Duration.ofSeconds(30));
    ServiceInstance first = new ServiceInstance("pangu", "node-a", "10.0.0.1:7000");
    registry.register(session, first);
    List<MembershipChange> changes = new CopyOnWriteArrayList<>();
    toClose.add(registry.watch("pangu", changes::add));

    ServiceInstance second = new ServiceInstance("pangu", "node-b", "10.0.0.2:7000");
    ServiceRegistration secondRegistration = registry.register(session, second);
    ServiceInstance moved =
        new ServiceInstance("pangu", "node-a", "10.0.0.9:7000", Map.of("moved", "yes"));
    registry.register(session, moved);
    secondRegistration.close();

    await().atMost(WAIT).until(() -> changes.size() == 4);
    assertThat(changes.get(0).added()).containsExactly(first);
    assertThat(changes.get(0).removed()).isEmpty();
    assertThat(changes.get(1).added()).containsExactly(second);
    assertThat(changes.get(1).instances()).containsExactly(first, second);
    assertThat(changes.get(2).added()).containsExactly(moved);
    assertThat(changes.get(2).removed()).containsExactly(first);
    assertThat(changes.get(3).removed()).containsExactly(second);
    assertThat(changes.get(3).instances()).containsExactly(moved);
    assertThat(changes).extracting(MembershipChange::revision).isSorted();
    assertThat(secondRegistration.isActive()).isFalse();
  }

  @Test
  void instanceDisappearsWhenItsProcessDiesAndTheLeaseExpires() {
    List<MembershipChange> changes = new CopyOnWriteArrayList<>();
    toClose.add(registry.watch("pangu", changes::add));
    NuwaClient doomed = NuwaTestServer.newClient();
    ServiceInstance instance = new ServiceInstance("pangu", "node-a", "10.0.0.1:7000");
    registry.register(Session.open(doomed, Duration.ofSeconds(2)), instance);
    await().atMost(WAIT).until(() -> changes.size() == 2);

    // As if the process died: nothing renews or revokes its lease any more.
    doomed.close();

    await().atMost(WAIT).until(() -> changes.size() == 3);
    assertThat(changes.get(2).removed()).containsExactly(instance);
    assertThat(changes.get(2).instances()).isEmpty();
    assertThat(registry.discover("pangu")).isEmpty();
  }

  @Test
  void anInstanceIdTakenByAnotherSessionIsRefused() {
    ServiceInstance instance = new ServiceInstance("pangu", "node-a", "10.0.0.1:7000");
    registry.register(session(client, Duration.ofSeconds(30)), instance);

    assertThatThrownBy(() -> registry.register(session(client, Duration.ofSeconds(30)), instance))
        .isInstanceOfSatisfying(
            NuwaException.class, e -> assertThat(e.code()).isEqualTo(Status.Code.ALREADY_EXISTS));
  }

  @Test
  void malformedValuesUnderTheRootAreSkipped() {
    ServiceInstance good = new ServiceInstance("pangu", "good", "10.0.0.1:7000");
    registry.register(session(client, Duration.ofSeconds(30)), good);
    String root = registryRoot();
    client.kv().put(root + "pangu/bad", "not json");

    assertThat(registry.discover("pangu")).containsExactly(good);
  }

  private String registryRoot() {
    // The root is the unique prefix the registry was built with; recover it from a registration.
    ServiceRegistration probe =
        registry.register(
            session(client, Duration.ofSeconds(30)), new ServiceInstance("probe", "p", "x"));
    String key = probe.key().toStringUtf8();
    probe.close();
    return key.substring(0, key.length() - "probe/p".length());
  }
}
