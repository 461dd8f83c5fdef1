package org.apsara.nuwa.client.recipes;

import com.google.protobuf.ByteString;
import java.time.Duration;
import java.util.Collections;
import java.util.List;
import java.util.NavigableMap;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apsara.nuwa.client.GetOptions;
import org.apsara.nuwa.client.GetResponse;
import org.apsara.nuwa.client.KeyRange;
import org.apsara.nuwa.client.KeyValue;
import org.apsara.nuwa.client.NuwaClient;
import org.apsara.nuwa.client.NuwaException;
import org.apsara.nuwa.client.WatchEvent;
import org.apsara.nuwa.client.WatchListener;
import org.apsara.nuwa.client.WatchOptions;
import org.apsara.nuwa.client.WatchResponse;
import org.apsara.nuwa.client.Watcher;

/**
 * A live copy of every key under a prefix: read once, then kept up to date from a watch that starts
 * right after the read. Each new state (one per revision) is handed to the listener whole, one at a
 * time and in revision order. If the watch ends (its history was compacted during a long
 * disconnection), the copy is read again and the listener gets the state as read; it may thereby
 * miss intermediate states, never the final one.
 */
final class PrefixMirror implements Subscription {
  /** Receives each state of the prefix. */
  interface Listener {
    /** {@code keys}, by key in unsigned byte order, is the prefix at {@code revision}. */
    void onState(NavigableMap<ByteString, KeyValue> keys, long revision);
  }

  static final Duration RELOAD_BACKOFF_INITIAL = Duration.ofMillis(100);
  static final Duration RELOAD_BACKOFF_MAX = Duration.ofSeconds(2);

  private final NuwaClient client;
  private final KeyRange range;
  private final Listener listener;
  private final Object lock = new Object();
  private final TreeMap<ByteString, KeyValue> keys =
      new TreeMap<>(ByteString.unsignedLexicographicalComparator());
  private Watcher watcher;
  private int generation;
  private int failedReloads;
  private boolean closed;

  PrefixMirror(NuwaClient client, ByteString prefix, Listener listener) {
    this.client = client;
    this.range = KeyRange.prefix(prefix);
    this.listener = listener;
  }

  /** Reads the prefix, tells the listener, and starts following it. Throws if the read fails. */
  void start() {
    synchronized (lock) {
      load();
    }
  }

  @Override
  public void close() {
    synchronized (lock) {
      closed = true;
      generation++;
      if (watcher != null) {
        watcher.cancel();
        watcher = null;
      }
    }
  }

  // Holds lock.
  private void load() {
    GetResponse snapshot = client.kv().get(range, GetOptions.DEFAULT);
    keys.clear();
    for (KeyValue kv : snapshot.kvs()) {
      keys.put(kv.key(), kv);
    }
    long revision = snapshot.header().revision();
    int myGeneration = ++generation;
    emit(revision);
    WatchOptions options = WatchOptions.builder().startRevision(revision + 1).build();
    watcher = client.watch().watch(range, options, new Follower(myGeneration));
  }

  // Holds lock.
  private void emit(long revision) {
    listener.onState(Collections.unmodifiableNavigableMap(new TreeMap<>(keys)), revision);
  }

  private void reloadLater() {
    long delayMs =
        Math.min(
            RELOAD_BACKOFF_MAX.toMillis(),
            RELOAD_BACKOFF_INITIAL.toMillis() << Math.min(failedReloads, 10));
    CompletableFuture.runAsync(
        this::reload,
        CompletableFuture.delayedExecutor(
            delayMs, TimeUnit.MILLISECONDS, client.callbackExecutor()));
  }

  private void reload() {
    synchronized (lock) {
      if (closed) {
        return;
      }
      try {
        load();
        failedReloads = 0;
      } catch (NuwaException e) {
        failedReloads++;
        reloadLater();
      }
    }
  }

  private final class Follower implements WatchListener {
    private final int myGeneration;

    Follower(int generation) {
      this.myGeneration = generation;
    }

    @Override
    public void onNext(WatchResponse response) {
      synchronized (lock) {
        if (closed || myGeneration != generation) {
          return;
        }
        // One batch may span several revisions; each revision is a state of its own.
        List<WatchEvent> events = response.events();
        for (int i = 0; i < events.size(); i++) {
          WatchEvent event = events.get(i);
          if (event.type() == WatchEvent.Type.PUT) {
            keys.put(event.kv().key(), event.kv());
          } else {
            keys.remove(event.kv().key());
          }
          if (i == events.size() - 1 || events.get(i + 1).revision() != event.revision()) {
            emit(event.revision());
          }
        }
      }
    }

    @Override
    public void onError(NuwaException error) {
      synchronized (lock) {
        if (closed || myGeneration != generation) {
          return;
        }
        watcher = null;
      }
      reloadLater();
    }
  }
}
