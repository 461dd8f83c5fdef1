package org.apsara.nuwa.client.recipes;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicReference;
import org.apsara.nuwa.client.Cmp;
import org.apsara.nuwa.client.GetOptions;
import org.apsara.nuwa.client.KeyRange;
import org.apsara.nuwa.client.KeyValue;
import org.apsara.nuwa.client.NuwaClient;
import org.apsara.nuwa.client.NuwaException;
import org.apsara.nuwa.client.Op;
import org.apsara.nuwa.client.PutOptions;
import org.apsara.nuwa.client.Txn;
import org.apsara.nuwa.client.TxnResponse;

/**
 * Service discovery: instances register themselves under a session, clients list them or watch them
 * come and go.
 *
 * <p>An instance is the key {@code <root><service>/<instanceId>} (root {@value #DEFAULT_ROOT} by
 * default), attached to its session's lease, holding {@code address} and {@code metadata} as a
 * small JSON object. It disappears when it deregisters, when its session is closed, and when its
 * process dies: the lease is then no longer renewed and expires after its TTL, so the session's TTL
 * bounds how long a dead instance stays listed.
 *
 * <p>Thread-safe. Values under the root that are not in this format (written by something else) are
 * skipped.
 */
public final class ServiceRegistry {
  /** Where services are registered unless told otherwise. */
  public static final String DEFAULT_ROOT = "/apsara/services/";

  private static final System.Logger LOG = System.getLogger(ServiceRegistry.class.getName());

  private final NuwaClient client;
  private final String root;

  public ServiceRegistry(NuwaClient client) {
    this(client, DEFAULT_ROOT);
  }

  /** A registry under {@code root}, which must end with {@code /}. */
  public ServiceRegistry(NuwaClient client, String root) {
    this.client = Objects.requireNonNull(client, "client");
    if (root.isEmpty() || !root.endsWith("/")) {
      throw new IllegalArgumentException("root must end with '/': " + root);
    }
    this.root = root;
  }

  /**
   * Registers {@code instance} under {@code session}, or updates it if this session registered it
   * before.
   *
   * @throws NuwaException with code {@code ALREADY_EXISTS} if another session has registered the
   *     same instance ID
   */
  public ServiceRegistration register(Session session, ServiceInstance instance) {
    Objects.requireNonNull(session, "session");
    ByteString key = key(instance.service(), instance.instanceId());
    Op put =
        Op.put(key, ServiceInstanceCodec.encode(instance), PutOptions.withLease(session.leaseId()));
    TxnResponse created =
        client.kv().txn(Txn.builder().when(Cmp.createRevision(key).equalTo(0)).then(put).build());
    if (!created.succeeded()) {
      TxnResponse updated =
          client
              .kv()
              .txn(Txn.builder().when(Cmp.lease(key).equalTo(session.leaseId())).then(put).build());
      if (!updated.succeeded()) {
        throw new NuwaException(
            Status.Code.ALREADY_EXISTS,
            "instance "
                + instance.instanceId()
                + " of "
                + instance.service()
                + " is registered by another session");
      }
    }
    return new ServiceRegistration(session, instance, key);
  }

  /** The instances of {@code service} registered now, by instance ID. */
  public List<ServiceInstance> discover(String service) {
    ByteString prefix = servicePrefix(service);
    List<ServiceInstance> instances = new ArrayList<>();
    for (KeyValue kv : client.kv().get(KeyRange.prefix(prefix), GetOptions.DEFAULT).kvs()) {
      ServiceInstance instance = decode(service, prefix, kv);
      if (instance != null) {
        instances.add(instance);
      }
    }
    return instances;
  }

  /**
   * Follows the instances of {@code service}, telling {@code listener} what is there now and then
   * every change, until the returned subscription is closed.
   */
  public Subscription watch(String service, MembershipListener listener) {
    Objects.requireNonNull(listener, "listener");
    ByteString prefix = servicePrefix(service);
    // Touched only from the mirror's callbacks, which never overlap.
    AtomicReference<Map<String, ServiceInstance>> known = new AtomicReference<>();
    PrefixMirror mirror =
        new PrefixMirror(
            client,
            prefix,
            (keys, revision) -> {
              Map<String, ServiceInstance> now = new TreeMap<>();
              for (KeyValue kv : keys.values()) {
                ServiceInstance instance = decode(service, prefix, kv);
                if (instance != null) {
                  now.put(instance.instanceId(), instance);
                }
              }
              Map<String, ServiceInstance> before = known.get();
              known.set(now);
              List<ServiceInstance> added = new ArrayList<>();
              List<ServiceInstance> removed = new ArrayList<>();
              Map<String, ServiceInstance> previous = before == null ? Map.of() : before;
              for (ServiceInstance instance : now.values()) {
                if (!instance.equals(previous.get(instance.instanceId()))) {
                  added.add(instance);
                }
              }
              for (ServiceInstance instance : previous.values()) {
                if (!instance.equals(now.get(instance.instanceId()))) {
                  removed.add(instance);
                }
              }
              if (before == null || !added.isEmpty() || !removed.isEmpty()) {
                listener.onChange(
                    new MembershipChange(
                        service, added, removed, List.copyOf(now.values()), revision));
              }
            });
    mirror.start();
    return mirror;
  }

  private ByteString key(String service, String instanceId) {
    return servicePrefix(service).concat(ByteString.copyFromUtf8(instanceId));
  }

  private ByteString servicePrefix(String service) {
    ServiceInstance.checkName(service, "service");
    return ByteString.copyFromUtf8(root + service + "/");
  }

  private static ServiceInstance decode(String service, ByteString prefix, KeyValue kv) {
    String instanceId = kv.key().substring(prefix.size()).toStringUtf8();
    try {
      return ServiceInstanceCodec.decode(service, instanceId, kv.value());
    } catch (IllegalArgumentException e) {
      LOG.log(
          System.Logger.Level.WARNING,
          "skipping malformed registration " + kv.keyUtf8() + ": " + e.getMessage());
      return null;
    }
  }
}
