package org.apsara.nuwa.server;

import static org.awaitility.Awaitility.await;

import io.etcd.jetcd.api.WatchCreateRequest;
import io.etcd.jetcd.api.WatchGrpc;
import io.etcd.jetcd.api.WatchProgressRequest;
import io.etcd.jetcd.api.WatchRequest;
import io.etcd.jetcd.api.WatchResponse;
import io.grpc.Channel;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;

/**
 * One etcd watch stream at the wire level, for tests that check exactly what a member sends:
 * every response is kept, in arrival order. Thread-safe.
 */
final class RawWatchStream implements AutoCloseable {
  private static final Duration RESPONSE_TIMEOUT = Duration.ofSeconds(20);

  private final List<WatchResponse> responses = new CopyOnWriteArrayList<>();
  private final List<Throwable> errors = new CopyOnWriteArrayList<>();
  private final StreamObserver<WatchRequest> requests;

  RawWatchStream(Channel channel) {
    requests = WatchGrpc.newStub(channel).watch(new StreamObserver<>() {
      @Override
      public void onNext(WatchResponse response) {
        responses.add(response);
      }

      @Override
      public void onError(Throwable t) {
        errors.add(t);
      }

      @Override
      public void onCompleted() {}
    });
  }

  /** Sends a create request and returns the response that confirms it. */
  WatchResponse create(WatchCreateRequest create) {
    int before = responses.size();
    synchronized (requests) {
      requests.onNext(WatchRequest.newBuilder().setCreateRequest(create).build());
    }
    return awaitResponse(before, WatchResponse::getCreated);
  }

  /** Sends a progress request; the answer arrives like any other response. */
  void requestProgress() {
    synchronized (requests) {
      requests.onNext(WatchRequest.newBuilder()
          .setProgressRequest(WatchProgressRequest.getDefaultInstance()).build());
    }
  }

  /** Every response so far, in arrival order. */
  List<WatchResponse> responses() {
    return List.copyOf(responses);
  }

  List<Throwable> errors() {
    return List.copyOf(errors);
  }

  int size() {
    return responses.size();
  }

  /** The first response at or after position {@code from} that matches, once it has arrived. */
  WatchResponse awaitResponse(int from, Predicate<WatchResponse> matches) {
    return await().atMost(RESPONSE_TIMEOUT).until(() -> {
      List<WatchResponse> all = responses();
      for (int i = from; i < all.size(); i++) {
        if (matches.test(all.get(i))) {
          return all.get(i);
        }
      }
      if (!errors.isEmpty()) {
        throw new AssertionError("watch stream failed", errors.get(0));
      }
      return null;
    }, r -> r != null);
  }

  @Override
  public void close() {
    synchronized (requests) {
      try {
        requests.onCompleted();
      } catch (IllegalStateException alreadyClosed) {
        // The stream ended first.
      }
    }
  }
}
