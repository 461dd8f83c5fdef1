package org.apsara.fuxi.client.am;

import java.util.Map;
import org.apsara.fuxi.api.v1.Location;
import org.apsara.fuxi.api.v1.RoleDefinition;

/**
 * A snapshot of what an application master believes: its roles, the units it holds per (role,
 * machine) and the units it still waits for per (role, location). Immutable.
 *
 * <p>Held counts follow grants, revocations and releases exactly. Pending totals per role follow
 * requests, withdrawals, grants and refused requests exactly; which location a grant served is not
 * said by the master (a request relaxes from machine to rack to cluster while it waits), so the
 * split of a role's pending units across locations is a best estimate.
 *
 * @param roles the defined roles by name
 * @param held units held: role, then machine id, then count (never 0)
 * @param pending units waited for: role, then location, then count (never 0)
 */
public record AllocationView(
    Map<String, RoleDefinition> roles,
    Map<String, Map<String, Integer>> held,
    Map<String, Map<Location, Integer>> pending) {

  public AllocationView {
    roles = Map.copyOf(roles);
    held = held.entrySet().stream().collect(java.util.stream.Collectors.toUnmodifiableMap(
        Map.Entry::getKey, e -> Map.copyOf(e.getValue())));
    pending = pending.entrySet().stream().collect(java.util.stream.Collectors.toUnmodifiableMap(
        Map.Entry::getKey, e -> Map.copyOf(e.getValue())));
  }

  /** Units of {@code role} held on {@code machineId}. */
  public int held(String role, String machineId) {
    return held.getOrDefault(role, Map.of()).getOrDefault(machineId, 0);
  }

  /** Units of {@code role} held anywhere. */
  public int heldTotal(String role) {
    return held.getOrDefault(role, Map.of()).values().stream().mapToInt(Integer::intValue).sum();
  }

  /** Units of {@code role} still waited for, anywhere. */
  public int pendingTotal(String role) {
    return pending.getOrDefault(role, Map.of()).values().stream().mapToInt(Integer::intValue)
        .sum();
  }
}
