package org.apsara.security.sign;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class NonceCacheTest {
  private static final Instant T0 = Instant.parse("2024-05-01T08:00:00Z");
  private static final Instant UNTIL = T0.plus(Duration.ofMinutes(15));

  @Test
  void rejectsANonceSeenBeforeWithTheSameKey() {
    NonceCache cache = new NonceCache(10);

    assertThat(cache.record("key1", "n1", UNTIL, T0)).isEqualTo(NonceCache.Result.RECORDED);
    assertThat(cache.record("key1", "n1", UNTIL, T0)).isEqualTo(NonceCache.Result.REUSED);
    assertThat(cache.record("key2", "n1", UNTIL, T0)).isEqualTo(NonceCache.Result.RECORDED);
  }

  @Test
  void remembersANonceUntilItsLastValidInstantInclusive() {
    NonceCache cache = new NonceCache(10);
    cache.record("key", "n", UNTIL, T0);

    assertThat(cache.record("key", "n", UNTIL, UNTIL)).isEqualTo(NonceCache.Result.REUSED);
    assertThat(cache.record("key", "n", UNTIL.plusSeconds(1), UNTIL.plusMillis(1)))
        .isEqualTo(NonceCache.Result.RECORDED);
  }

  @Test
  void refusesNewNoncesWhenFullInsteadOfForgettingLiveOnes() {
    NonceCache cache = new NonceCache(2);
    cache.record("key", "a", UNTIL, T0);
    cache.record("key", "b", UNTIL.plusSeconds(10), T0);

    assertThat(cache.record("key", "c", UNTIL, T0)).isEqualTo(NonceCache.Result.FULL);
    assertThat(cache.size()).isEqualTo(2);
    // The remembered nonces are still rejected: nothing was forgotten to make room.
    assertThat(cache.record("key", "a", UNTIL, T0)).isEqualTo(NonceCache.Result.REUSED);
    assertThat(cache.record("key", "b", UNTIL, T0)).isEqualTo(NonceCache.Result.REUSED);

    // Once "a" expires there is room again, and "b" is still remembered.
    Instant later = UNTIL.plusMillis(1);
    assertThat(cache.record("key", "c", later.plus(Duration.ofMinutes(15)), later))
        .isEqualTo(NonceCache.Result.RECORDED);
    assertThat(cache.record("key", "b", UNTIL, later)).isEqualTo(NonceCache.Result.REUSED);
    assertThat(cache.record("key", "d", UNTIL, later)).isEqualTo(NonceCache.Result.FULL);
  }

  @Test
  void forgetsInOrderOfExpiryNotOfArrival() {
    NonceCache cache = new NonceCache(10);
    cache.record("key", "long", T0.plusSeconds(100), T0);
    cache.record("key", "short", T0.plusSeconds(10), T0);

    assertThat(cache.record("key", "x", T0.plusSeconds(100), T0.plusSeconds(11)))
        .isEqualTo(NonceCache.Result.RECORDED);
    assertThat(cache.size()).isEqualTo(2);
    assertThat(cache.record("key", "long", T0.plusSeconds(100), T0.plusSeconds(11)))
        .isEqualTo(NonceCache.Result.REUSED);
  }

  @Test
  void needsAPositiveBound() {
    assertThatThrownBy(() -> new NonceCache(0)).isInstanceOf(IllegalArgumentException.class);
    assertThat(new NonceCache().entriesMax()).isEqualTo(NonceCache.DEFAULT_ENTRIES_MAX);
  }
}
