package org.apsara.raft;

import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import org.apache.ratis.protocol.RaftClientAsynchronousProtocol;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.server.RaftServer;

/**
 * Submits a request to this server's own division on the calling thread.
 *
 * <p>{@link RaftServer#submitClientRequestAsync} hands every request to a Ratis client thread and
 * returns; that thread does the same work under the same locks, so the hand-off only adds a
 * thread wake-up and a sleep per request, which costs more than the work itself on a small,
 * busy machine.
 *
 * <p>The caller must hold no lock that a Ratis thread may wait for: the division takes its
 * server's lock, and a Ratis thread that holds that lock may complete earlier requests' futures
 * (a leader stepping down answers its pending requests), running their callbacks.
 */
public final class DirectSubmit {
  private DirectSubmit() {
  }

  /** Submits {@code request} to the division of its group on this server. */
  public static CompletableFuture<RaftClientReply> submit(RaftServer server,
      RaftClientRequest request) throws IOException {
    return server.getDivision(request.getRaftGroupId())
        instanceof RaftClientAsynchronousProtocol division
        ? division.submitClientRequestAsync(request)
        : server.submitClientRequestAsync(request);
  }
}
