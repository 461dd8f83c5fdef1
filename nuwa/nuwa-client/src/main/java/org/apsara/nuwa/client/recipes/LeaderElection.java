package org.apsara.nuwa.client.recipes;

import com.google.protobuf.ByteString;
import java.time.Duration;
import java.util.Comparator;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.apsara.nuwa.client.Cmp;
import org.apsara.nuwa.client.KeyRange;
import org.apsara.nuwa.client.KeyValue;
import org.apsara.nuwa.client.NuwaClient;
import org.apsara.nuwa.client.NuwaException;
import org.apsara.nuwa.client.Op;
import org.apsara.nuwa.client.PutOptions;
import org.apsara.nuwa.client.Txn;
import org.apsara.nuwa.client.TxnResponse;

/**
 * Leader election under a {@link Session}, with the algorithm and key layout of etcd's Go {@code
 * concurrency.Election}, so that it interoperates with {@code etcdctl elect <name>}: each candidate
 * writes {@code <name>/<lease ID in hex>} holding its proclaimed value; the candidate with the
 * lowest create revision leads; the others wait in line, each on the deletion of the key created
 * just before its own. A leader that resigns, or whose session ends (closed, or the process died
 * and the lease expired), hands leadership to the next in line.
 *
 * <p>Thread-safe; one object is one candidate. Give each candidate its own session: two candidates
 * on one session would share a key. Leadership is only as good as the session: watch {@link
 * Session#done()}.
 */
public final class LeaderElection {
  private final Session session;
  private final String name;
  private final ByteString prefix;
  private final ByteString key;
  private final Object lock = new Object();
  private long leaderRevision;
  private boolean campaigning;

  public LeaderElection(Session session, String name) {
    this.session = Objects.requireNonNull(session, "session");
    this.name = name;
    this.prefix = RecipeKeys.prefix(name);
    this.key = RecipeKeys.contenderKey(prefix, session.leaseId());
  }

  /**
   * Becomes a candidate with {@code value} and waits, as long as it takes, until elected.
   *
   * @throws InterruptedException if interrupted while waiting; the candidacy is withdrawn
   * @throws NuwaException if the session ended or the cluster could not be reached
   */
  public void campaign(ByteString value) throws InterruptedException {
    campaign(value, Predecessors.NO_DEADLINE);
  }

  public void campaign(String value) throws InterruptedException {
    campaign(ByteString.copyFromUtf8(value));
  }

  /**
   * Like {@link #campaign(ByteString)}, waiting at most {@code timeout}; returns whether elected.
   * On timeout the candidacy is withdrawn.
   */
  public boolean campaign(ByteString value, Duration timeout) throws InterruptedException {
    return campaign(value, System.nanoTime() + timeout.toNanos());
  }

  public boolean campaign(String value, Duration timeout) throws InterruptedException {
    return campaign(ByteString.copyFromUtf8(value), timeout);
  }

  private boolean campaign(ByteString value, long deadlineNanos) throws InterruptedException {
    Objects.requireNonNull(value, "value");
    synchronized (lock) {
      if (campaigning || leaderRevision != 0) {
        throw new IllegalStateException("already a candidate in election " + name);
      }
      campaigning = true;
    }
    boolean elected = false;
    try {
      long myRevision = nominate(value);
      elected = Predecessors.awaitTurn(session, prefix, myRevision, deadlineNanos);
      if (elected && session.client().kv().get(key).isEmpty()) {
        throw new NuwaException(
            io.grpc.Status.Code.FAILED_PRECONDITION,
            "the session of election " + name + " expired while campaigning");
      }
      if (elected) {
        synchronized (lock) {
          leaderRevision = myRevision;
        }
      }
      return elected;
    } finally {
      synchronized (lock) {
        campaigning = false;
      }
      if (!elected) {
        withdraw();
      }
    }
  }

  /**
   * Writes the candidacy key unless it exists (then updates its value); returns its create
   * revision.
   */
  private long nominate(ByteString value) {
    Txn txn =
        Txn.builder()
            .when(Cmp.createRevision(key).equalTo(0))
            .then(Op.put(key, value, PutOptions.withLease(session.leaseId())))
            .orElse(Op.get(key))
            .build();
    TxnResponse response = session.client().kv().txn(txn);
    if (response.succeeded()) {
      return response.header().revision();
    }
    // Still a candidate from before (same session): keep the place in line, take the new value.
    KeyValue existing = response.getResponse(0).first().orElseThrow();
    if (!existing.value().equals(value)) {
      session.client().kv().put(key, value, PutOptions.withLease(session.leaseId()));
    }
    return existing.createRevision();
  }

  private void withdraw() {
    try {
      session.client().kv().delete(key);
    } catch (NuwaException e) {
      // The key goes with the session at the latest; the failure that got us here matters more.
    }
  }

  /**
   * Changes the leader's value without an election, for example to publish a new address.
   *
   * @throws NotLeaderException if this candidate does not lead (any more)
   */
  public void proclaim(ByteString value) {
    Objects.requireNonNull(value, "value");
    long revision;
    synchronized (lock) {
      revision = leaderRevision;
    }
    if (revision == 0) {
      throw new NotLeaderException("not the leader of election " + name);
    }
    Txn txn =
        Txn.builder()
            .when(Cmp.createRevision(key).equalTo(revision))
            .then(Op.put(key, value, PutOptions.withLease(session.leaseId())))
            .build();
    if (!session.client().kv().txn(txn).succeeded()) {
      synchronized (lock) {
        leaderRevision = 0;
      }
      throw new NotLeaderException("no longer the leader of election " + name);
    }
  }

  public void proclaim(String value) {
    proclaim(ByteString.copyFromUtf8(value));
  }

  /** Gives up leadership, letting the next candidate in. Does nothing if not the leader. */
  public void resign() {
    long revision;
    synchronized (lock) {
      revision = leaderRevision;
    }
    if (revision == 0) {
      return;
    }
    Txn txn =
        Txn.builder().when(Cmp.createRevision(key).equalTo(revision)).then(Op.delete(key)).build();
    session.client().kv().txn(txn);
    synchronized (lock) {
      leaderRevision = 0;
    }
  }

  /** Whether this candidate was elected and has not resigned, and its session is alive. */
  public boolean isLeader() {
    synchronized (lock) {
      return leaderRevision != 0 && session.isAlive();
    }
  }

  /** The current leader as stored, if there is one. */
  public Optional<Leader> leader() {
    return session
        .client()
        .kv()
        .get(KeyRange.prefix(prefix), DistributedLock.firstCreated())
        .first()
        .map(Leader::of);
  }

  /**
   * Follows who leads, telling {@code listener} now and at every change, until the returned
   * subscription is closed. Needs no candidacy.
   */
  public Subscription observe(LeaderListener listener) {
    return observe(session.client(), name, listener);
  }

  /** Follows who leads election {@code name}, without being a candidate or having a session. */
  public static Subscription observe(NuwaClient client, String name, LeaderListener listener) {
    Objects.requireNonNull(listener, "listener");
    // Touched only from the mirror's callbacks, which never overlap.
    AtomicReference<Optional<Leader>> last = new AtomicReference<>();
    PrefixMirror mirror =
        new PrefixMirror(
            client,
            RecipeKeys.prefix(name),
            (keys, revision) -> {
              Optional<Leader> leader =
                  keys.values().stream()
                      .min(Comparator.comparingLong(KeyValue::createRevision))
                      .map(Leader::of);
              if (!leader.equals(last.get())) {
                last.set(leader);
                listener.onLeaderChange(leader);
              }
            });
    mirror.start();
    return mirror;
  }
}
