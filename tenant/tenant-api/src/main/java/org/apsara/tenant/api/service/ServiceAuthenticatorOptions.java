package org.apsara.tenant.api.service;

import java.time.Duration;
import java.util.Objects;
import org.apsara.security.sign.NonceCache;
import org.apsara.security.sign.ServiceScope;
import org.apsara.tenant.api.CredentialsFile;

/**
 * How a {@link ServiceAuthenticator} caches what the identity service says. Immutable; start from
 * {@link #defaults()} and change what differs with the {@code with...} methods.
 *
 * @param region the cluster's region, which callers' signatures must name; the identity service
 *     must serve the same one
 * @param refreshInterval how often every cached AccessKey is asked about again; a disabled key, a
 *     deleted key or a changed policy takes effect here within about this long
 * @param maxStaleness how long a cached answer may still be used while the identity service cannot
 *     be reached; after that, calls signed with the key fail with {@code UNAVAILABLE}
 * @param notFoundTtl how long "no such AccessKey" is remembered, so that calls with an unknown key
 *     do not each cost a call to the identity service; a key created meanwhile is refused as
 *     unknown for at most this long
 * @param entriesMax the most (AccessKey, day) pairs cached, unknown ones included; past it, calls
 *     with an AccessKey not yet cached fail with {@code UNAVAILABLE} until idle entries expire
 * @param nonceEntriesMax the bound of the replay cache (see {@link NonceCache})
 */
public record ServiceAuthenticatorOptions(
    String region,
    Duration refreshInterval,
    Duration maxStaleness,
    Duration notFoundTtl,
    int entriesMax,
    int nonceEntriesMax) {
  public static final Duration DEFAULT_REFRESH_INTERVAL = Duration.ofSeconds(5);
  public static final Duration DEFAULT_MAX_STALENESS = Duration.ofMinutes(5);
  public static final Duration DEFAULT_NOT_FOUND_TTL = Duration.ofSeconds(2);
  /**
   * Default of {@link #entriesMax}: an entry is a few kilobytes with its policies, and a cluster has
   * fewer than 10,000 enabled AccessKeys (Nuwa's user limit), each cached for at most two days at
   * once around midnight.
   */
  public static final int DEFAULT_ENTRIES_MAX = 20_000;

  public ServiceAuthenticatorOptions {
    ServiceScope.checkName("region", region);
    requirePositive("refreshInterval", refreshInterval);
    requirePositive("maxStaleness", maxStaleness);
    requirePositive("notFoundTtl", notFoundTtl);
    if (maxStaleness.compareTo(refreshInterval) < 0) {
      throw new IllegalArgumentException("maxStaleness (" + maxStaleness
          + ") must be at least refreshInterval (" + refreshInterval + ")");
    }
    if (entriesMax < 1 || nonceEntriesMax < 1) {
      throw new IllegalArgumentException("entriesMax and nonceEntriesMax must be positive");
    }
  }

  /** Region {@value CredentialsFile#DEFAULT_REGION}, and the defaults above. */
  public static ServiceAuthenticatorOptions defaults() {
    return new ServiceAuthenticatorOptions(CredentialsFile.DEFAULT_REGION,
        DEFAULT_REFRESH_INTERVAL, DEFAULT_MAX_STALENESS, DEFAULT_NOT_FOUND_TTL,
        DEFAULT_ENTRIES_MAX, NonceCache.DEFAULT_ENTRIES_MAX);
  }

  public ServiceAuthenticatorOptions withRegion(String region) {
    return new ServiceAuthenticatorOptions(
        region, refreshInterval, maxStaleness, notFoundTtl, entriesMax, nonceEntriesMax);
  }

  public ServiceAuthenticatorOptions withRefreshInterval(Duration refreshInterval) {
    return new ServiceAuthenticatorOptions(
        region, refreshInterval, maxStaleness, notFoundTtl, entriesMax, nonceEntriesMax);
  }

  public ServiceAuthenticatorOptions withMaxStaleness(Duration maxStaleness) {
    return new ServiceAuthenticatorOptions(
        region, refreshInterval, maxStaleness, notFoundTtl, entriesMax, nonceEntriesMax);
  }

  public ServiceAuthenticatorOptions withNotFoundTtl(Duration notFoundTtl) {
    return new ServiceAuthenticatorOptions(
        region, refreshInterval, maxStaleness, notFoundTtl, entriesMax, nonceEntriesMax);
  }

  public ServiceAuthenticatorOptions withEntriesMax(int entriesMax) {
    return new ServiceAuthenticatorOptions(
        region, refreshInterval, maxStaleness, notFoundTtl, entriesMax, nonceEntriesMax);
  }

  private static void requirePositive(String name, Duration duration) {
    Objects.requireNonNull(duration, name);
    if (duration.isNegative() || duration.isZero()) {
      throw new IllegalArgumentException(name + " must be positive: " + duration);
    }
  }
}
