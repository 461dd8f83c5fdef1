package org.apsara.nuwa.client.recipes;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import org.apsara.nuwa.client.LeaseGrant;
import org.apsara.nuwa.client.LeaseKeepAliveListener;
import org.apsara.nuwa.client.LeaseKeeper;
import org.apsara.nuwa.client.LeaseNotFoundException;
import org.apsara.nuwa.client.NuwaClient;
import org.apsara.nuwa.client.NuwaException;

/**
 * A lease kept alive for as long as this process wants it, like etcd's {@code concurrency.Session}:
 * keys written under it (locks, election candidacies, service registrations) vanish when the
 * session ends, whether it is closed or the process dies and the lease expires.
 *
 * <p>Thread-safe. {@link #close()} revokes the lease, deleting its keys at once. If the lease is
 * lost instead (revoked elsewhere, or not renewed in time because no server could be reached),
 * {@link #done()} completes exceptionally; whatever was held under the session must then be assumed
 * lost, even if the keys still exist for a moment.
 */
public final class Session implements AutoCloseable {
  /** TTL of a session unless told otherwise (etcd's default too). */
  public static final Duration DEFAULT_TTL = Duration.ofSeconds(60);

  private final NuwaClient client;
  private final long leaseId;
  private final long ttlSeconds;
  private final LeaseKeeper keeper;
  private final CompletableFuture<Void> done = new CompletableFuture<>();

  private Session(NuwaClient client, LeaseGrant lease) {
    this.client = client;
    this.leaseId = lease.id();
    this.ttlSeconds = lease.ttlSeconds();
    this.keeper =
        client
            .lease()
            .keepAlive(
                leaseId,
                new LeaseKeepAliveListener() {
                  @Override
                  public void onLost(long id, NuwaException cause) {
                    done.completeExceptionally(cause);
                  }
                });
  }

  /** Opens a session with the {@link #DEFAULT_TTL}. */
  public static Session open(NuwaClient client) {
    return open(client, DEFAULT_TTL);
  }

  /**
   * Opens a session whose lease has {@code ttl} (whole seconds, rounded up): how long its keys
   * outlive this process if it dies.
   */
  public static Session open(NuwaClient client, Duration ttl) {
    Objects.requireNonNull(client, "client");
    long seconds = Math.max(1, (ttl.toMillis() + 999) / 1000);
    return new Session(client, client.lease().grant(seconds));
  }

  public NuwaClient client() {
    return client;
  }

  /** The session's lease. */
  public long leaseId() {
    return leaseId;
  }

  /** The TTL the server granted the lease. */
  public long ttlSeconds() {
    return ttlSeconds;
  }

  /** Whether the session is open and its lease has not been lost. */
  public boolean isAlive() {
    return !done.isDone();
  }

  /**
   * Completes when the session ends: normally on {@link #close()}, exceptionally with the cause (a
   * {@link NuwaException}) when the lease is lost. A copy: completing it has no effect.
   */
  public CompletableFuture<Void> done() {
    return done.copy();
  }

  /**
   * Stops keeping the lease alive and revokes it, deleting every key written under it. A lease that
   * is already gone is not an error. If the revoke fails otherwise (no server reachable), the error
   * is thrown for an open session, and ignored for one already lost; either way the keys expire
   * with the lease's TTL. Idempotent.
   */
  @Override
  public void close() {
    boolean wasLost = done.isCompletedExceptionally();
    keeper.close();
    if (!wasLost && !done.complete(null)) {
      return;
    }
    try {
      client.lease().revoke(leaseId);
    } catch (LeaseNotFoundException e) {
      // Already expired or revoked: the keys are gone either way.
    } catch (NuwaException e) {
      if (!wasLost) {
        throw e;
      }
    }
  }
}
