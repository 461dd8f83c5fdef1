package org.apsara.nuwa.client.recipes;

import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * One running instance of a service, as registered. Immutable.
 *
 * @param service the service name; no {@code /}
 * @param instanceId unique within the service (for example host and port); no {@code /}
 * @param address where to reach the instance, typically {@code host:port}
 * @param metadata free-form attributes (zone, version, weight...), sorted by key
 */
public record ServiceInstance(
    String service, String instanceId, String address, Map<String, String> metadata) {
  /** Longest service name, instance ID or address accepted. */
  public static final int MAX_NAME_CHARS = 256;

  public ServiceInstance {
    checkName(service, "service");
    checkName(instanceId, "instanceId");
    Objects.requireNonNull(address, "address");
    if (address.isEmpty() || address.length() > MAX_NAME_CHARS) {
      throw new IllegalArgumentException("address must have 1.." + MAX_NAME_CHARS + " characters");
    }
    TreeMap<String, String> sorted = new TreeMap<>();
    for (Map.Entry<String, String> e : metadata.entrySet()) {
      sorted.put(
          Objects.requireNonNull(e.getKey(), "metadata key"),
          Objects.requireNonNull(e.getValue(), "metadata value"));
    }
    metadata = Collections.unmodifiableSortedMap(sorted);
  }

  public ServiceInstance(String service, String instanceId, String address) {
    this(service, instanceId, address, Map.of());
  }

  static void checkName(String name, String what) {
    Objects.requireNonNull(name, what);
    if (name.isEmpty() || name.length() > MAX_NAME_CHARS || name.indexOf('/') >= 0) {
      throw new IllegalArgumentException(
          what + " must have 1.." + MAX_NAME_CHARS + " characters and no '/': " + name);
    }
  }
}
