package org.apsara.nuwa.client.recipes;

import com.google.protobuf.ByteString;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import org.apsara.nuwa.client.Cmp;
import org.apsara.nuwa.client.GetOptions;
import org.apsara.nuwa.client.GetOptions.SortOrder;
import org.apsara.nuwa.client.GetOptions.SortTarget;
import org.apsara.nuwa.client.KeyRange;
import org.apsara.nuwa.client.KeyValue;
import org.apsara.nuwa.client.NuwaException;
import org.apsara.nuwa.client.Op;
import org.apsara.nuwa.client.PutOptions;
import org.apsara.nuwa.client.Txn;
import org.apsara.nuwa.client.TxnResponse;

/**
 * A distributed mutual-exclusion lock, fair in arrival order, held under a {@link Session}.
 *
 * <p>The algorithm and key layout are those of etcd's Go {@code concurrency.Mutex}, so this lock
 * excludes {@code etcdctl lock <name>} and Go clients on the same name: each contender writes the
 * key {@code <name>/<lease ID in hex>} with its session's lease; the contender whose key has the
 * lowest create revision holds the lock; the others each wait for the deletion of the key created
 * just before theirs. Releasing deletes the key, and so does the session's end, which is how a lock
 * held by a process that died is released once its lease expires.
 *
 * <p>Thread-safe, but one object stands for one contender: it is not reentrant, and a second {@code
 * lock()} while it is held or being acquired throws {@link IllegalStateException}. Two objects for
 * the same name on the same session would share a key and both believe they hold the lock, so give
 * each contender its own session. Holding the lock is only as good as the session: watch {@link
 * Session#done()}, and pass {@link #revision()} to the guarded resource as a fencing token where it
 * can check one.
 */
public final class DistributedLock {
  private enum State {
    FREE,
    ACQUIRING,
    HELD
  }

  private final Session session;
  private final String name;
  private final ByteString prefix;
  private final ByteString key;
  private final Object lock = new Object();
  private State state = State.FREE;
  private long revision;

  public DistributedLock(Session session, String name) {
    this.session = Objects.requireNonNull(session, "session");
    this.name = name;
    this.prefix = RecipeKeys.prefix(name);
    this.key = RecipeKeys.contenderKey(prefix, session.leaseId());
  }

  /**
   * Waits for the lock as long as it takes.
   *
   * @throws InterruptedException if interrupted while waiting; the place in line is given up
   * @throws NuwaException if the session ended or the cluster could not be reached
   */
  public void lock() throws InterruptedException {
    acquire(true, Predecessors.NO_DEADLINE);
  }

  /**
   * Waits for the lock at most {@code timeout}; returns whether it was acquired. On timeout the
   * place in line is given up.
   */
  public boolean tryLock(Duration timeout) throws InterruptedException {
    return acquire(true, System.nanoTime() + timeout.toNanos());
  }

  /** Takes the lock if nobody holds it or waits for it; never waits. */
  public boolean tryLock() {
    try {
      return acquire(false, Predecessors.NO_DEADLINE);
    } catch (InterruptedException e) {
      // Not reachable without waiting; keep the flag for the caller all the same.
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /**
   * Releases the lock by deleting this contender's key.
   *
   * @throws IllegalStateException if the lock is not held through this object
   * @throws NuwaException if the key could not be deleted; the lock is then still held (until the
   *     session ends) and unlocking may be retried
   */
  public void unlock() {
    synchronized (lock) {
      if (state != State.HELD) {
        throw new IllegalStateException("lock " + name + " is not held");
      }
      session.client().kv().delete(key);
      state = State.FREE;
      revision = 0;
    }
  }

  /** Whether this object holds the lock, as far as it knows (see the class comment on sessions). */
  public boolean isHeld() {
    synchronized (lock) {
      return state == State.HELD && session.isAlive();
    }
  }

  /**
   * The create revision of this contender's key while the lock is held: it only grows from one
   * holder to the next, so it can serve as a fencing token. {@code 0} when not held.
   */
  public long revision() {
    synchronized (lock) {
      return state == State.HELD ? revision : 0;
    }
  }

  /** This contender's key. */
  public ByteString key() {
    return key;
  }

  /** The key of the current holder, if anyone holds the lock. */
  public Optional<KeyValue> holder() {
    return session.client().kv().get(KeyRange.prefix(prefix), firstCreated()).first();
  }

  private boolean acquire(boolean wait, long deadlineNanos) throws InterruptedException {
    synchronized (lock) {
      if (state != State.FREE) {
        throw new IllegalStateException("lock " + name + " is already held or being acquired");
      }
      state = State.ACQUIRING;
    }
    boolean acquired = false;
    try {
      Place place = enqueue();
      long myRevision = place.myRevision();
      if (place.ownerRevision() == myRevision) {
        acquired = true;
      } else if (wait) {
        acquired = Predecessors.awaitTurn(session, prefix, myRevision, deadlineNanos);
      }
      if (acquired && session.client().kv().get(key).isEmpty()) {
        throw new NuwaException(
            io.grpc.Status.Code.FAILED_PRECONDITION,
            "the session of lock " + name + " expired while waiting");
      }
      if (acquired) {
        synchronized (lock) {
          state = State.HELD;
          revision = myRevision;
        }
      }
      return acquired;
    } finally {
      if (!acquired) {
        leaveQueue();
      }
    }
  }

  /** This contender's place in line, and the head of the line, at one revision. */
  private record Place(long myRevision, long ownerRevision) {}

  /** Writes this contender's key unless it exists, and reads the head of the line with it. */
  private Place enqueue() {
    Op head = Op.get(KeyRange.prefix(prefix), firstCreated());
    Txn txn =
        Txn.builder()
            .when(Cmp.createRevision(key).equalTo(0))
            .then(Op.put(key, ByteString.EMPTY, PutOptions.withLease(session.leaseId())), head)
            .orElse(Op.get(key), head)
            .build();
    TxnResponse response = session.client().kv().txn(txn);
    long myRevision =
        response.succeeded()
            ? response.header().revision()
            : response.getResponse(0).first().orElseThrow().createRevision();
    long ownerRevision = response.getResponse(1).first().orElseThrow().createRevision();
    return new Place(myRevision, ownerRevision);
  }

  private void leaveQueue() {
    synchronized (lock) {
      state = State.FREE;
      revision = 0;
    }
    try {
      session.client().kv().delete(key);
    } catch (NuwaException e) {
      // The key goes with the session at the latest; the failure that got us here matters more.
    }
  }

  static GetOptions firstCreated() {
    return GetOptions.builder().sort(SortTarget.CREATE_REVISION, SortOrder.ASCEND).limit(1).build();
  }
}
