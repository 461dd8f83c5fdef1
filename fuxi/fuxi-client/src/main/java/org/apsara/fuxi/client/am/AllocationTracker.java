package org.apsara.fuxi.client.am;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apsara.fuxi.api.FuxiNames;
import org.apsara.fuxi.api.v1.AllocateRequest;
import org.apsara.fuxi.api.v1.ChangeError;
import org.apsara.fuxi.api.v1.Grant;
import org.apsara.fuxi.api.v1.Location;
import org.apsara.fuxi.api.v1.Refuse;
import org.apsara.fuxi.api.v1.Revoke;
import org.apsara.fuxi.api.v1.RoleDefinition;

/**
 * The application master's own account of its allocation, kept so that it can {@code Sync} a new
 * primary: roles, held units per (role, machine), pending units per (role, location), refusals. It
 * applies the AM's changes as they are sent and the master's decisions as they arrive.
 *
 * <p>A refused change ({@link ChangeError}) names its kind and role but not its amount, so the
 * tracker remembers the last {@link #RECENT_CHANGES_MAX} changes it sent and undoes the oldest one
 * of that kind and role (exact while one change of a kind and role is in flight, which is the
 * usual case: each change travels in its own message).
 *
 * <p>Not thread-safe: {@link AppMasterSession} calls it under its lock.
 */
final class AllocationTracker {
  /** Role names the master reserves for itself (the AM's own unit is role "fuxi.am"). */
  static final String RESERVED_ROLE_PREFIX = FuxiNames.RESERVED_ROLE_PREFIX;
  /** Sent changes remembered to undo refused ones; older ones are assumed applied. */
  static final int RECENT_CHANGES_MAX = 1_024;
  /** Bounds a role's waited-for units on the client side as the master does on its side. */
  static final int COUNT_MAX = 1_000_000;

  private final Map<String, RoleDefinition> roles = new LinkedHashMap<>();
  private final Map<String, Map<String, Integer>> held = new LinkedHashMap<>();
  private final Map<String, Map<Location, Integer>> pending = new LinkedHashMap<>();
  private final Map<String, Set<Location>> refusals = new LinkedHashMap<>();
  private final Deque<Sent> recent = new ArrayDeque<>();

  private record Sent(String change, String role, Location location, int count) {}

  void defineRole(RoleDefinition role) {
    String name = role.getRole();
    if (name.isEmpty() || name.startsWith(RESERVED_ROLE_PREFIX)) {
      throw new IllegalArgumentException("role name '" + name + "' is empty or reserved (names"
          + " starting with '" + RESERVED_ROLE_PREFIX + "' belong to the master)");
    }
    if (roles.containsKey(name)) {
      throw new IllegalArgumentException("role '" + name + "' is already defined");
    }
    roles.put(name, role);
    remember(new Sent("define_role", name, null, 0));
  }

  void request(String role, Location location, int count) {
    requireRole(role);
    requireCount(count);
    Map<Location, Integer> byLocation = pending.computeIfAbsent(role, r -> new LinkedHashMap<>());
    long total = (long) count + byLocation.values().stream().mapToInt(Integer::intValue).sum();
    if (total > COUNT_MAX) {
      throw new IllegalArgumentException("role '" + role + "' would wait for " + total
          + " units, above " + COUNT_MAX);
    }
    byLocation.merge(location, count, Integer::sum);
    remember(new Sent("request", role, location, count));
  }

  void withdraw(String role, Location location, int count) {
    requireRole(role);
    requireCount(count);
    take(pending, role, location, count);
    remember(new Sent("withdraw", role, location, count));
  }

  void release(String role, String machineId, int count) {
    requireRole(role);
    requireCount(count);
    int have = held.getOrDefault(role, Map.of()).getOrDefault(machineId, 0);
    if (count > have) {
      throw new IllegalArgumentException("releasing " + count + " units of '" + role + "' on "
          + machineId + " but " + have + " are held");
    }
    take(held, role, machineId, count);
    remember(new Sent("release", role, null, count));
  }

  void refuse(String role, Location location) {
    requireRole(role);
    refusals.computeIfAbsent(role, r -> new LinkedHashSet<>()).add(location);
    remember(new Sent("refuse", role, location, 0));
  }

  /** Units granted: held here, and no longer waited for (see the class comment on locations). */
  void granted(Grant grant) {
    held.computeIfAbsent(grant.getRole(), r -> new LinkedHashMap<>())
        .merge(grant.getMachineId(), grant.getCount(), Integer::sum);
    Map<Location, Integer> byLocation = pending.get(grant.getRole());
    if (byLocation == null) {
      return;
    }
    int left = grant.getCount();
    // The machine asked for first, then any rack (the machine's rack is unknown here), then the
    // cluster, then other machines (a machine request relaxes to wider levels while it waits).
    Location machine = machine(grant.getMachineId());
    left -= take(pending, grant.getRole(), machine, left);
    for (Location.Level level : List.of(Location.Level.RACK, Location.Level.CLUSTER,
        Location.Level.MACHINE)) {
      for (Location l : new ArrayList<>(byLocation.keySet())) {
        if (left > 0 && l.getLevel() == level) {
          left -= take(pending, grant.getRole(), l, left);
        }
      }
    }
  }

  /** Units taken back: no longer held. */
  void revoked(Revoke revoke) {
    take(held, revoke.getRole(), revoke.getMachineId(), revoke.getCount());
  }

  /** The master refused one change: undo the oldest sent change of that kind and role. */
  void refused(ChangeError error) {
    for (Iterator<Sent> it = recent.iterator(); it.hasNext(); ) {
      Sent s = it.next();
      if (!s.change.equals(error.getChange()) || !s.role.equals(error.getRole())) {
        continue;
      }
      it.remove();
      switch (s.change) {
        case "define_role" -> {
          // ROLE_EXISTS: the master already has it (say, defined before a reconnect); keep it.
          if (!error.getCode().equals("ROLE_EXISTS") && !held.containsKey(s.role)) {
            roles.remove(s.role);
            // The master refuses requests of an unknown role; their errors may come later.
            pending.remove(s.role);
          }
        }
        case "request" -> take(pending, s.role, s.location, s.count);
        case "refuse" -> {
          Set<Location> refused = refusals.get(s.role);
          if (refused != null && refused.remove(s.location) && refused.isEmpty()) {
            refusals.remove(s.role);
          }
        }
        // A refused withdrawal or release means the master had nothing of it: the local
        // decrement already matches the master's state.
        default -> { }
      }
      return;
    }
  }

  /** What a new primary needs to know: every role, held unit and pending request. */
  AllocateRequest.Sync toSync() {
    AllocateRequest.Sync.Builder sync = AllocateRequest.Sync.newBuilder().addAllRoles(roles.values());
    held.forEach((role, byMachine) -> byMachine.forEach((machineId, count) ->
        sync.addHeld(AllocateRequest.Held.newBuilder().setRole(role).setMachineId(machineId)
            .setCount(count))));
    pending.forEach((role, byLocation) -> byLocation.forEach((location, count) ->
        sync.addPending(org.apsara.fuxi.api.v1.Request.newBuilder().setRole(role)
            .setLocation(location).setCount(count))));
    return sync.build();
  }

  /** The refusals made so far: a Sync cannot carry them, so they are sent again after it. */
  List<Refuse> refusals() {
    List<Refuse> all = new ArrayList<>();
    refusals.forEach((role, locations) -> locations.forEach(l ->
        all.add(Refuse.newBuilder().setRole(role).setLocation(l).build())));
    return all;
  }

  AllocationView view() {
    return new AllocationView(roles, held, pending);
  }

  static Location machine(String machineId) {
    return Location.newBuilder().setLevel(Location.Level.MACHINE).setId(machineId).build();
  }

  private void remember(Sent sent) {
    if (recent.size() >= RECENT_CHANGES_MAX) {
      recent.removeFirst();
    }
    recent.addLast(sent);
  }

  private void requireRole(String role) {
    if (!roles.containsKey(role)) {
      throw new IllegalArgumentException("role '" + role + "' is not defined");
    }
  }

  private static void requireCount(int count) {
    if (count <= 0 || count > COUNT_MAX) {
      throw new IllegalArgumentException("count must be 1.." + COUNT_MAX + ": " + count);
    }
  }

  /** Takes up to {@code count} from {@code map[role][key]}; answers how many it took. */
  private static <K> int take(Map<String, Map<K, Integer>> map, String role, K key, int count) {
    Map<K, Integer> byKey = map.get(role);
    if (byKey == null || count <= 0) {
      return 0;
    }
    int have = byKey.getOrDefault(key, 0);
    int taken = Math.min(have, count);
    if (have - taken == 0) {
      byKey.remove(key);
      if (byKey.isEmpty()) {
        map.remove(role);
      }
    } else {
      byKey.put(key, have - taken);
    }
    return taken;
  }
}
