package org.apsara.pangu.master.chunks;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;
import java.util.random.RandomGenerator;

/**
 * Where new replicas go: the placement policy, as a pure function of the candidates and a
 * seeded random source, so that a test fixes the outcome with the seed.
 *
 * <p>The rules, in order of precedence:
 * <ol>
 *   <li>every replica on a distinct chunkserver (a hard rule: the caller only offers candidates
 *       that hold no replica of the chunk);</li>
 *   <li>the first replica of a new chunk on the writer's own host, when a chunkserver runs
 *       there, so the first copy of every byte costs no network hop;</li>
 *   <li>distinct hosts: two chunkservers on one machine share its power supply and kernel;</li>
 *   <li>when racks are configured, at least two racks: a rack's switch or power can fail as a
 *       whole. Once two racks hold replicas, further replicas go to any rack.</li>
 * </ol>
 * A rule is relaxed only when no candidate satisfies it. Among candidates that satisfy the same
 * rules, two are drawn at random and the one with more free space wins ("power of two
 * choices"): it fills chunkservers evenly without sending every new chunk to the emptiest one.
 *
 * <p>Stateless; not for direct use outside the chunk manager.
 */
final class ChunkPlacement {
  /** A chunkserver that may take a replica. */
  record Candidate(String id, String host, String rack, long freeBytes) {}

  private ChunkPlacement() {}

  /**
   * Chooses {@code count} of {@code candidates}, fewer only if there are fewer candidates.
   *
   * @param placed chunkservers that already hold the chunk's healthy replicas (for a copy), or
   *     none (for a new chunk)
   * @param clientHost the writer's host, or empty
   * @param racksConfigured whether rack diversity is wanted
   */
  static List<Candidate> choose(List<Candidate> candidates, int count, List<Candidate> placed,
      String clientHost, boolean racksConfigured, RandomGenerator random) {
    List<Candidate> pool = new ArrayList<>(candidates);
    List<Candidate> all = new ArrayList<>(placed);
    List<Candidate> chosen = new ArrayList<>();
    if (placed.isEmpty() && !clientHost.isEmpty()) {
      Candidate local = pick(filter(pool, c -> c.host().equals(clientHost)), random);
      if (local != null) {
        take(local, pool, all, chosen);
      }
    }
    while (chosen.size() < count && !pool.isEmpty()) {
      Set<String> hosts = new HashSet<>();
      Set<String> racks = new HashSet<>();
      for (Candidate c : all) {
        hosts.add(c.host());
        racks.add(c.rack());
      }
      Predicate<Candidate> newHost = c -> !hosts.contains(c.host());
      Predicate<Candidate> newRack = c -> !racksConfigured || racks.size() != 1
          || !racks.contains(c.rack());
      Candidate next = pick(filter(pool, newHost.and(newRack)), random);
      if (next == null) {
        next = pick(filter(pool, newHost), random);
      }
      if (next == null) {
        next = pick(filter(pool, newRack), random);
      }
      if (next == null) {
        next = pick(pool, random);
      }
      take(next, pool, all, chosen);
    }
    return chosen;
  }

  private static void take(Candidate c, List<Candidate> pool, List<Candidate> all,
      List<Candidate> chosen) {
    pool.remove(c);
    all.add(c);
    chosen.add(c);
  }

  private static List<Candidate> filter(List<Candidate> pool, Predicate<Candidate> rule) {
    List<Candidate> matching = new ArrayList<>();
    for (Candidate c : pool) {
      if (rule.test(c)) {
        matching.add(c);
      }
    }
    return matching;
  }

  /** Two random draws, the one with more free space; null if there is none. */
  private static Candidate pick(List<Candidate> matching, RandomGenerator random) {
    if (matching.isEmpty()) {
      return null;
    }
    Candidate a = matching.get(random.nextInt(matching.size()));
    Candidate b = matching.get(random.nextInt(matching.size()));
    return b.freeBytes() > a.freeBytes() ? b : a;
  }
}
