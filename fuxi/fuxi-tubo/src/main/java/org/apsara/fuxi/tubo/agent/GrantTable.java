package org.apsara.fuxi.tubo.agent;

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apsara.fuxi.api.v1.MachineGrant;

/**
 * This machine's grant table as the master last sent it: for each (application, role), how many
 * units are granted here, of which shape and class. Immutable.
 *
 * <p>The table is the master's word for what may run here: Tubo starts a worker only while the
 * running workers of its (application, role) are fewer than the granted count, and kills the
 * newest above it; but it never enforces a table sent while the master was {@link #rebuilding}
 * (a new primary that has not yet heard from every AM and Tubo would otherwise have running
 * work killed).
 *
 * @param grants by {@link Key}; an (application, role) absent has no unit here
 * @param rebuilding whether the master said it is collecting soft state
 * @param known whether any answer came yet; before it, nothing is enforced either
 */
record GrantTable(Map<Key, MachineGrant> grants, boolean rebuilding, boolean known) {

  /** Before the first answer: nothing granted, nothing enforced. */
  static final GrantTable UNKNOWN = new GrantTable(Map.of(), false, false);

  /** An (application, role) pair. */
  record Key(String applicationId, String role) {
    @Override
    public String toString() {
      return applicationId + "/" + role;
    }
  }

  GrantTable {
    grants = Map.copyOf(grants);
  }

  /**
   * The table of a heartbeat answer. A pair listed twice keeps its last entry; a negative count
   * counts as 0 (the master never sends one, but a table must never make Tubo misbehave).
   */
  static GrantTable of(Collection<MachineGrant> entries, boolean rebuilding) {
    Map<Key, MachineGrant> grants = new LinkedHashMap<>();
    for (MachineGrant grant : entries) {
      MachineGrant entry = grant.getCount() < 0 ? grant.toBuilder().setCount(0).build() : grant;
      grants.put(new Key(grant.getApplicationId(), grant.getRole()), entry);
    }
    return new GrantTable(grants, rebuilding, true);
  }

  /** Whether running workers may be killed for this table: known, and not rebuilding. */
  boolean enforceable() {
    return known && !rebuilding;
  }

  Optional<MachineGrant> grant(String applicationId, String role) {
    return Optional.ofNullable(grants.get(new Key(applicationId, role)));
  }

  /** Units of (application, role) granted here; 0 when absent. */
  int count(String applicationId, String role) {
    MachineGrant grant = grants.get(new Key(applicationId, role));
    return grant == null ? 0 : grant.getCount();
  }

  List<MachineGrant> entries() {
    return List.copyOf(grants.values());
  }
}
