package org.apsara.security.policy;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Remembers decisions by (principal, action, resource) so that repeated requests skip loading
 * and evaluating policies. Bounded: at most {@code maxEntries} decisions, the least recently used
 * evicted first.
 *
 * <p><b>What is cached.</b> Only decisions reached without evaluating any condition: such a
 * decision depends on nothing but the principal's policies, the action and the resource. A
 * decision that read the request context (the time, the source IP, ...) is computed afresh every
 * time; in effect, requests to which a statement with a {@code Condition} applies are not cached.
 *
 * <p><b>Invalidation.</b> Whoever changes policies or attachments must first make the change
 * visible to the {@link PolicySource}, then call {@link #invalidatePrincipal} for each principal
 * affected (every member, when a group changes) or {@link #invalidateAll}. Every invalidation
 * increments a generation counter; a decision is stored only if no invalidation happened between
 * the start of its policy lookup and its storing, so a decision computed from policies read
 * before a change is never stored after the invalidation that announced the change. (An
 * invalidation for one principal thus also stops in-flight decisions of others from being
 * stored, which only costs a later miss.)
 *
 * <p>Thread-safe: lookups and updates take one lock briefly; policy lookup and evaluation run
 * outside it, so two threads missing on the same key may both evaluate.
 */
public final class DecisionCache {
  /** A default for {@code maxEntries}: at a few hundred bytes per decision, a few megabytes. */
  public static final int DEFAULT_MAX_ENTRIES = 10_000;

  private record Key(String principal, String action, String resource) {}

  private final PolicyEvaluator evaluator = new PolicyEvaluator();
  private final int maxEntries;
  private final Object lock = new Object();
  // Guarded by lock. In access order, so the eldest entry is the least recently used.
  private final LinkedHashMap<Key, Decision> entries;
  private long generation;
  private long hits;
  private long misses;

  /** @param maxEntries most decisions kept at once; at least 1 */
  public DecisionCache(int maxEntries) {
    if (maxEntries < 1) {
      throw new IllegalArgumentException("maxEntries must be at least 1, got " + maxEntries);
    }
    this.maxEntries = maxEntries;
    this.entries =
        new LinkedHashMap<>(16, 0.75f, true) {
          private static final long serialVersionUID = 1L;

          @Override
          protected boolean removeEldestEntry(Map.Entry<Key, Decision> eldest) {
            return size() > DecisionCache.this.maxEntries;
          }
        };
  }

  /**
   * Returns the decision for {@code request}: the cached one if there is one, else the one
   * evaluated from {@code source.policiesFor(request.principal())}, which is cached if it read no
   * condition. If the source throws, the exception propagates and nothing is cached.
   */
  public Decision decide(EvaluationRequest request, PolicySource source) {
    Objects.requireNonNull(source, "source");
    Key key = new Key(request.principal(), request.action(), request.resource());
    long generationAtStart;
    synchronized (lock) {
      Decision cached = entries.get(key);
      if (cached != null) {
        hits++;
        return cached;
      }
      misses++;
      generationAtStart = generation;
    }
    PolicyEvaluator.Evaluation evaluation =
        evaluator.evaluateTracked(request, source.policiesFor(request.principal()));
    if (!evaluation.readContext()) {
      synchronized (lock) {
        // An invalidation since the lookup started may mean the policies just used are stale.
        if (generation == generationAtStart) {
          entries.put(key, evaluation.decision());
        }
      }
    }
    return evaluation.decision();
  }

  /** Forgets every decision; call after a change that may affect any principal. */
  public void invalidateAll() {
    synchronized (lock) {
      generation++;
      entries.clear();
    }
  }

  /**
   * Forgets the decisions for {@code principal}; call after its policies or attachments (or those
   * of a group it belongs to) change. Takes time proportional to the number of cached entries.
   */
  public void invalidatePrincipal(String principal) {
    Objects.requireNonNull(principal, "principal");
    synchronized (lock) {
      generation++;
      Iterator<Key> keys = entries.keySet().iterator();
      while (keys.hasNext()) {
        if (keys.next().principal().equals(principal)) {
          keys.remove();
        }
      }
    }
  }

  /** Requests answered from the cache, since creation. */
  public long hits() {
    synchronized (lock) {
      return hits;
    }
  }

  /** Requests that were evaluated, cached afterwards or not, since creation. */
  public long misses() {
    synchronized (lock) {
      return misses;
    }
  }

  /** Decisions cached now. */
  public int size() {
    synchronized (lock) {
      return entries.size();
    }
  }

  /** The most decisions kept at once. */
  public int maxEntries() {
    return maxEntries;
  }
}
