package org.apsara.nuwa.client;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/** Keeps everything a watch delivered, and checks that callbacks never overlap. */
final class RecordingWatchListener implements WatchListener {
  final List<WatchEvent> events = new CopyOnWriteArrayList<>();
  final List<Long> progress = new CopyOnWriteArrayList<>();
  final List<NuwaException> errors = new CopyOnWriteArrayList<>();
  final AtomicInteger concurrentCallbacks = new AtomicInteger();
  volatile boolean overlapped;

  @Override
  public void onNext(WatchResponse response) {
    enter();
    try {
      events.addAll(response.events());
    } finally {
      exit();
    }
  }

  @Override
  public void onProgress(long revision) {
    enter();
    try {
      progress.add(revision);
    } finally {
      exit();
    }
  }

  @Override
  public void onError(NuwaException error) {
    enter();
    try {
      errors.add(error);
    } finally {
      exit();
    }
  }

  List<String> keys() {
    return events.stream().map(e -> e.kv().keyUtf8()).toList();
  }

  List<String> describe() {
    return events.stream()
        .map(
            e ->
                e.type()
                    + " "
                    + e.kv().keyUtf8()
                    + (e.type() == WatchEvent.Type.PUT ? "=" + e.kv().valueUtf8() : ""))
        .toList();
  }

  private void enter() {
    if (concurrentCallbacks.incrementAndGet() > 1) {
      overlapped = true;
    }
  }

  private void exit() {
    concurrentCallbacks.decrementAndGet();
  }
}
