package org.apsara.common.net;

import io.grpc.Server;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/** Stopping a gRPC server the same way in every service. Stateless. */
public final class GrpcServers {
  private GrpcServers() {}

  /**
   * Stops taking calls, lets running ones finish for {@code grace}, then cancels what is left
   * and waits up to {@code grace} again. An interrupt cancels at once and keeps the flag set.
   */
  public static void stop(Server server, Duration grace) {
    server.shutdown();
    try {
      if (!server.awaitTermination(grace.toMillis(), TimeUnit.MILLISECONDS)) {
        server.shutdownNow();
        server.awaitTermination(grace.toMillis(), TimeUnit.MILLISECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      server.shutdownNow();
    }
  }
}
