package org.apsara.nuwa.client.recipes;

import java.util.List;
import java.util.Objects;

/**
 * How the instances of a service changed. Immutable. An instance re-registered with a different
 * address or metadata appears as removed (old) and added (new) in the same change.
 *
 * @param service the service
 * @param added instances that appeared, by instance ID
 * @param removed instances that disappeared (deregistered, or their process died and its lease
 *     expired), by instance ID
 * @param instances every instance after the change, by instance ID
 * @param revision the store revision the change happened at
 */
public record MembershipChange(
    String service,
    List<ServiceInstance> added,
    List<ServiceInstance> removed,
    List<ServiceInstance> instances,
    long revision) {
  public MembershipChange {
    Objects.requireNonNull(service, "service");
    added = List.copyOf(added);
    removed = List.copyOf(removed);
    instances = List.copyOf(instances);
  }
}
