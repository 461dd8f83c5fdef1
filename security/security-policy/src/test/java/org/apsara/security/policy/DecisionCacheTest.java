package org.apsara.security.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class DecisionCacheTest {
  private static final String ALICE = "acs:ram::tenant1:user/alice";
  private static final String BOB = "acs:ram::tenant1:user/bob";
  private static final String FILE = "acs:pangu:cn-north:tenant1:file/data/a.txt";

  /** What the tenant service would hold: the policies currently attached to each principal. */
  private final Map<String, List<Policy>> attached = new ConcurrentHashMap<>();
  private final AtomicInteger lookups = new AtomicInteger();
  private final PolicySource source =
      principal -> {
        lookups.incrementAndGet();
        return attached.getOrDefault(principal, List.of());
      };
  private final ExecutorService executor = Executors.newFixedThreadPool(4);

  @AfterEach
  void stopExecutor() throws InterruptedException {
    executor.shutdownNow();
    assertThat(executor.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
  }

  private void attach(String principal, String policyNames) throws InvalidPolicyException {
    attached.put(principal, PolicyEvaluatorTest.policies(policyNames));
  }

  private static EvaluationRequest request(String principal, String action) {
    return new EvaluationRequest(principal, action, FILE);
  }

  private static EvaluationRequest request(String principal, String action, String sourceIp) {
    return new EvaluationRequest(principal, action, FILE, Map.of(ConditionKeys.SOURCE_IP, sourceIp));
  }

  @Test
  void answersARepeatedRequestFromTheCache() throws Exception {
    attach(ALICE, "ReadData");
    DecisionCache cache = new DecisionCache(100);

    Decision first = cache.decide(request(ALICE, "pangu:ReadFile"), source);
    Decision second = cache.decide(request(ALICE, "pangu:ReadFile"), source);

    assertThat(first).isEqualTo(Decision.allow("ReadData", 0)).isSameAs(second);
    assertThat(lookups).hasValue(1);
    assertThat(cache.hits()).isEqualTo(1);
    assertThat(cache.misses()).isEqualTo(1);
    assertThat(cache.size()).isEqualTo(1);
  }

  @Test
  void cachesDenialsToo() throws Exception {
    attach(ALICE, "ReadData,NoDelete");
    DecisionCache cache = new DecisionCache(100);

    for (int i = 0; i < 3; i++) {
      assertThat(cache.decide(request(ALICE, "pangu:DeleteFile"), source))
          .isEqualTo(Decision.explicitDeny("NoDelete", 0));
      assertThat(cache.decide(request(ALICE, "pangu:WriteFile"), source))
          .isEqualTo(Decision.IMPLICIT_DENY);
    }
    assertThat(lookups).hasValue(2);
    assertThat(cache.hits()).isEqualTo(4);
  }

  @Test
  void neverCachesADecisionThatReadAConditionUnlikeOneThatDidNot() throws Exception {
    attach(ALICE, "PanguAll,FromOffice");
    attach(BOB, "FromOffice");
    DecisionCache cache = new DecisionCache(100);

    // The same request from inside and outside the office must be decided differently each time.
    for (int i = 0; i < 2; i++) {
      assertThat(cache.decide(request(BOB, "pangu:ReadFile", "10.0.0.1"), source))
          .isEqualTo(Decision.allow("FromOffice", 0));
      assertThat(cache.decide(request(BOB, "pangu:ReadFile", "192.0.2.1"), source))
          .isEqualTo(Decision.IMPLICIT_DENY);
    }
    assertThat(cache.hits()).isZero();
    assertThat(cache.size()).isZero();

    // A write by Alice never reaches the condition, which applies to reads only: it is cached.
    cache.decide(request(ALICE, "pangu:WriteFile", "192.0.2.1"), source);
    cache.decide(request(ALICE, "pangu:WriteFile", "10.0.0.1"), source);
    assertThat(cache.hits()).isEqualTo(1);
    assertThat(cache.size()).isEqualTo(1);
  }

  @Test
  void evictsTheLeastRecentlyUsedBeyondMaxEntries() throws Exception {
    attach(ALICE, "PanguAll");
    DecisionCache cache = new DecisionCache(2);

    cache.decide(request(ALICE, "pangu:A"), source);
    cache.decide(request(ALICE, "pangu:B"), source);
    cache.decide(request(ALICE, "pangu:A"), source); // hit: now B is the least recently used
    cache.decide(request(ALICE, "pangu:C"), source); // evicts B
    assertThat(cache.size()).isEqualTo(2);
    assertThat(cache.hits()).isEqualTo(1);

    cache.decide(request(ALICE, "pangu:A"), source);
    cache.decide(request(ALICE, "pangu:C"), source);
    assertThat(cache.hits()).isEqualTo(3);
    cache.decide(request(ALICE, "pangu:B"), source);
    assertThat(cache.hits()).isEqualTo(3);
    assertThat(cache.misses()).isEqualTo(4);
    assertThat(cache.size()).isEqualTo(cache.maxEntries());
  }

  @Test
  void invalidatePrincipalForgetsOnlyThatPrincipal() throws Exception {
    attach(ALICE, "ReadData");
    attach(BOB, "ReadData");
    DecisionCache cache = new DecisionCache(100);
    cache.decide(request(ALICE, "pangu:ReadFile"), source);
    cache.decide(request(ALICE, "pangu:WriteFile"), source);
    cache.decide(request(BOB, "pangu:ReadFile"), source);

    attach(ALICE, "NoDelete");
    cache.invalidatePrincipal(ALICE);

    assertThat(cache.size()).isEqualTo(1);
    assertThat(cache.decide(request(ALICE, "pangu:ReadFile"), source))
        .isEqualTo(Decision.IMPLICIT_DENY);
    long hitsBefore = cache.hits();
    assertThat(cache.decide(request(BOB, "pangu:ReadFile"), source))
        .isEqualTo(Decision.allow("ReadData", 0));
    assertThat(cache.hits()).isEqualTo(hitsBefore + 1);
  }

  @Test
  void invalidateAllForgetsEverything() throws Exception {
    attach(ALICE, "ReadData");
    attach(BOB, "ReadData");
    DecisionCache cache = new DecisionCache(100);
    cache.decide(request(ALICE, "pangu:ReadFile"), source);
    cache.decide(request(BOB, "pangu:ReadFile"), source);

    attach(ALICE, "NoDelete");
    attach(BOB, "NoDelete");
    cache.invalidateAll();

    assertThat(cache.size()).isZero();
    assertThat(cache.decide(request(ALICE, "pangu:ReadFile"), source))
        .isEqualTo(Decision.IMPLICIT_DENY);
    assertThat(cache.decide(request(BOB, "pangu:ReadFile"), source))
        .isEqualTo(Decision.IMPLICIT_DENY);
  }

  /**
   * The race the generation counter exists for: a decision is being computed from policies read
   * just before they change; the change and its invalidation complete; then the computation
   * finishes. Its (stale) decision is returned to its caller but must not be cached. The latches
   * fix the interleaving, so the test is deterministic.
   */
  @Test
  void decisionFromPoliciesReadBeforeAnInvalidationIsNotStored() throws Exception {
    attach(ALICE, "ReadData");
    DecisionCache cache = new DecisionCache(100);
    CountDownLatch policiesRead = new CountDownLatch(1);
    CountDownLatch invalidated = new CountDownLatch(1);
    PolicySource slowSource =
        principal -> {
          List<Policy> policies = source.policiesFor(principal);
          policiesRead.countDown();
          awaitUninterruptibly(invalidated);
          return policies;
        };

    Future<Decision> slow =
        executor.submit(() -> cache.decide(request(ALICE, "pangu:ReadFile"), slowSource));
    assertThat(policiesRead.await(10, TimeUnit.SECONDS)).isTrue();
    attach(ALICE, "NoDelete"); // ReadData is detached ...
    cache.invalidatePrincipal(ALICE); // ... and the change announced.
    invalidated.countDown();

    assertThat(slow.get(10, TimeUnit.SECONDS)).isEqualTo(Decision.allow("ReadData", 0));
    assertThat(cache.size()).isZero();
    assertThat(cache.decide(request(ALICE, "pangu:ReadFile"), source))
        .isEqualTo(Decision.IMPLICIT_DENY);
    // Decisions computed after the invalidation are cached as usual.
    assertThat(cache.size()).isEqualTo(1);
    assertThat(cache.decide(request(ALICE, "pangu:ReadFile"), source))
        .isEqualTo(Decision.IMPLICIT_DENY);
    assertThat(cache.hits()).isEqualTo(1);
  }

  @Test
  void invalidatingAnyPrincipalDuringALookupAlsoPreventsStoring() throws Exception {
    attach(ALICE, "ReadData");
    DecisionCache cache = new DecisionCache(100);
    PolicySource sourceThatSeesAChange =
        principal -> {
          List<Policy> policies = source.policiesFor(principal);
          cache.invalidateAll();
          return policies;
        };

    cache.decide(request(ALICE, "pangu:ReadFile"), sourceThatSeesAChange);

    assertThat(cache.size()).isZero();
  }

  @Test
  void aFailingSourceCachesNothing() {
    DecisionCache cache = new DecisionCache(100);
    PolicySource failing =
        principal -> {
          throw new IllegalStateException("policy store unavailable");
        };

    assertThatThrownBy(() -> cache.decide(request(ALICE, "pangu:ReadFile"), failing))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("policy store unavailable");
    assertThat(cache.size()).isZero();
    assertThat(cache.misses()).isEqualTo(1);
  }

  @Test
  void countsEveryRequestOnceUnderConcurrentUse() throws Exception {
    attach(ALICE, "PanguAll");
    DecisionCache cache = new DecisionCache(20);
    int threads = 4;
    int requestsPerThread = 5_000;
    List<Future<?>> workers = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      int seed = t;
      workers.add(executor.submit(() -> {
        for (int i = 0; i < requestsPerThread; i++) {
          Decision decision = cache.decide(request(ALICE, "pangu:Op" + ((i * 7 + seed) % 40)), source);
          assertThat(decision.allowed()).isTrue();
        }
      }));
    }
    for (Future<?> worker : workers) {
      worker.get(30, TimeUnit.SECONDS);
    }

    assertThat(cache.hits() + cache.misses()).isEqualTo((long) threads * requestsPerThread);
    assertThat(cache.misses()).isEqualTo(lookups.get());
    assertThat(cache.size()).isLessThanOrEqualTo(20);
  }

  @Test
  void refusesANonPositiveBound() {
    assertThatThrownBy(() -> new DecisionCache(0)).isInstanceOf(IllegalArgumentException.class);
    assertThat(new DecisionCache(DecisionCache.DEFAULT_MAX_ENTRIES).maxEntries())
        .isEqualTo(DecisionCache.DEFAULT_MAX_ENTRIES);
  }

  private static void awaitUninterruptibly(CountDownLatch latch) {
    try {
      if (!latch.await(10, TimeUnit.SECONDS)) {
        throw new AssertionError("latch was not released");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }
}
