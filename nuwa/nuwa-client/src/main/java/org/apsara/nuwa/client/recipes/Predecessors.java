package org.apsara.nuwa.client.recipes;

import com.google.protobuf.ByteString;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apsara.nuwa.client.GetOptions;
import org.apsara.nuwa.client.GetOptions.SortOrder;
import org.apsara.nuwa.client.GetOptions.SortTarget;
import org.apsara.nuwa.client.GetResponse;
import org.apsara.nuwa.client.KeyRange;
import org.apsara.nuwa.client.NuwaClient;
import org.apsara.nuwa.client.NuwaException;
import org.apsara.nuwa.client.WatchEvent;
import org.apsara.nuwa.client.WatchListener;
import org.apsara.nuwa.client.WatchOptions;
import org.apsara.nuwa.client.WatchResponse;
import org.apsara.nuwa.client.Watcher;

/**
 * Waiting one's turn in a queue of keys ordered by create revision, the way etcd's Go {@code
 * concurrency} package does: find the newest key created before mine, wait for it to be deleted,
 * and repeat until none is left. Waiting on the direct predecessor only, rather than on the head of
 * the queue, means one deletion wakes one waiter, not all of them.
 */
final class Predecessors {
  /** Marks a wait that ended without a deadline. */
  static final long NO_DEADLINE = Long.MAX_VALUE;

  private Predecessors() {}

  /**
   * Returns {@code true} once no key under {@code prefix} was created before {@code myRevision},
   * {@code false} if {@code deadlineNanos} ({@link System#nanoTime()} based) passed first.
   *
   * @throws NuwaException if the session ended while waiting
   */
  static boolean awaitTurn(Session session, ByteString prefix, long myRevision, long deadlineNanos)
      throws InterruptedException {
    if (myRevision <= 1) {
      // Revision 1 is the empty store: nothing can have been created before it (and a bound of 0
      // below would mean no bound at all).
      return true;
    }
    NuwaClient client = session.client();
    GetOptions newestBeforeMine =
        GetOptions.builder()
            .maxCreateRevision(myRevision - 1)
            .sort(SortTarget.CREATE_REVISION, SortOrder.DESCEND)
            .limit(1)
            .build();
    while (true) {
      GetResponse predecessor = client.kv().get(KeyRange.prefix(prefix), newestBeforeMine);
      if (predecessor.isEmpty()) {
        return true;
      }
      ByteString key = predecessor.kvs().get(0).key();
      if (!awaitDeleted(session, key, predecessor.header().revision(), deadlineNanos)) {
        return false;
      }
    }
  }

  /** Waits for {@code key}, which existed at {@code revision}, to be deleted after it. */
  private static boolean awaitDeleted(
      Session session, ByteString key, long revision, long deadlineNanos)
      throws InterruptedException {
    CompletableFuture<Void> deleted = new CompletableFuture<>();
    WatchListener listener =
        new WatchListener() {
          @Override
          public void onNext(WatchResponse response) {
            if (response.events().stream().anyMatch(e -> e.type() == WatchEvent.Type.DELETE)) {
              deleted.complete(null);
            }
          }

          @Override
          public void onError(NuwaException error) {
            // The watch cannot go on (e.g. compaction): read again instead.
            deleted.complete(null);
          }
        };
    WatchOptions options = WatchOptions.builder().startRevision(revision + 1).noPut(true).build();
    CompletableFuture<Void> sessionEnd = session.done();
    Watcher watcher = session.client().watch().watch(KeyRange.key(key), options, listener);
    try {
      CompletableFuture<Object> first = CompletableFuture.anyOf(deleted, sessionEnd);
      if (deadlineNanos == NO_DEADLINE) {
        first.get();
      } else {
        first.get(Math.max(0, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
      }
    } catch (TimeoutException e) {
      return false;
    } catch (ExecutionException e) {
      throw sessionLost(e.getCause());
    } finally {
      watcher.cancel();
    }
    if (!deleted.isDone() && sessionEnd.isDone()) {
      throw sessionLost(null);
    }
    return true;
  }

  static NuwaException sessionLost(Throwable cause) {
    if (cause instanceof NuwaException nuwa) {
      return nuwa;
    }
    return new NuwaException(
        io.grpc.Status.Code.FAILED_PRECONDITION, "the session has ended", cause);
  }
}
