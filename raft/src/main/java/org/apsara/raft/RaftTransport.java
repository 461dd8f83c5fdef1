package org.apsara.raft;

import java.io.IOException;
import java.io.InterruptedIOException;
import org.apache.ratis.conf.Parameters;
import org.apache.ratis.grpc.GrpcFactory;
import org.apache.ratis.grpc.server.GrpcLogAppender;
import org.apache.ratis.proto.RaftProtos.AppendEntriesRequestProto;
import org.apache.ratis.rpc.RpcFactory;
import org.apache.ratis.rpc.RpcType;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.leader.FollowerInfo;
import org.apache.ratis.server.leader.LeaderState;
import org.apache.ratis.server.leader.LogAppender;
import org.apache.ratis.server.raftlog.RaftLogIOException;
import org.apache.ratis.util.TimeDuration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Ratis's gRPC transport, with log appenders that come back after they fail and that pace their
 * messages only while one is outstanding.
 *
 * <p>A leader feeds each follower from a log appender thread. In Ratis 3.2.2, when that thread
 * dies of an exception (a connection error at the wrong moment does it), Ratis means to replace
 * it but checks a condition that the failure itself has made false, logs {@code is not running:
 * skipping restart}, and gives up (RATIS-2499, fixed upstream after 3.2.2). The follower then
 * gets nothing, not even heartbeats, until the next leader change: the group runs on two members
 * and no longer survives another failure. Here the appender catches its own failure and asks the
 * leader to replace it, which is what the upstream fix does.
 *
 * <p>Ratis's appender also waits {@code raft.server.log.appender.wait-time.min} after every
 * message to a follower before the next, so that entries appended meanwhile travel together.
 * Here it waits only while an earlier message to that follower is unanswered: an entry that finds
 * the follower idle leaves at once. Only when a message leaves changes; what goes into it is
 * decided as before.
 *
 * <p>Ratis instantiates this class by name ({@code raft.rpc.type}), hence the public no-argument
 * constructor and a {@link #name()} that is the class name.
 */
public final class RaftTransport implements RpcType {

  private static final Logger LOG = LoggerFactory.getLogger(RaftTransport.class);

  /**
   * Pause before an appender that failed is replaced, so an error that repeats at once costs at
   * most this many restarts a second per follower; the same as the appender's retry interval.
   */
  public static final long RESTART_PAUSE_MS = 100;

  public RaftTransport() {
  }

  @Override
  public String name() {
    return RaftTransport.class.getName();
  }

  @Override
  public RpcFactory newFactory(Parameters parameters) {
    return new Factory(parameters);
  }

  /** gRPC, as Ratis ships it, but for the appenders it creates. */
  static final class Factory extends GrpcFactory {
    Factory(Parameters parameters) {
      super(parameters);
    }

    @Override
    public LogAppender newLogAppender(RaftServer.Division server, LeaderState leaderState,
        FollowerInfo follower) {
      return new RestartingAppender(server, leaderState, follower);
    }
  }

  /**
   * Ratis's gRPC appender, which on failure has the leader start a fresh one in its place, and
   * which paces its messages only while one is outstanding. Runs on its own thread, as Ratis's.
   */
  static final class RestartingAppender extends GrpcLogAppender {
    /**
     * Whether the request being built found no other outstanding to this follower;
     * written and read on this appender's thread only.
     */
    private boolean builtWhileIdle;

    RestartingAppender(RaftServer.Division server, LeaderState leaderState,
        FollowerInfo follower) {
      super(server, leaderState, follower);
    }

    @Override
    public AppendEntriesRequestProto newAppendEntriesRequest(long callId, boolean heartbeat)
        throws RaftLogIOException {
      // Ratis registers the request as outstanding right after building it and only then asks
      // for the remaining wait, so whether the pipe was idle has to be noted here.
      builtWhileIdle = !hasPendingDataRequests();
      return super.newAppendEntriesRequest(callId, heartbeat);
    }

    /**
     * Paces messages to the follower only while an earlier one is still unanswered. Ratis waits
     * {@code wait-time.min} after every message so that entries arriving meanwhile travel
     * together; when nothing is outstanding, nothing is gathered by waiting and the wait only
     * delays the entry (by at least a millisecond: the JDK rounds a sub-millisecond sleep up). So
     * a lone writer's entry leaves at once, and under load, where messages are always in flight,
     * entries are still gathered as before.
     */
    @Override
    protected TimeDuration getRemainingWaitTime() {
      boolean idle = builtWhileIdle || !hasPendingDataRequests();
      builtWhileIdle = false;
      return idle ? TimeDuration.ZERO : super.getRemainingWaitTime();
    }

    @Override
    public void run() throws IOException {
      try {
        super.run();
      } catch (InterruptedIOException stopped) {
        throw stopped;
      } catch (IOException | RuntimeException failure) {
        if (!isRunning()) {
          // Stopped meanwhile (this member stepped down or is closing): nothing to replace.
          throw failure;
        }
        RaftTransport.LOG.atWarn().addKeyValue("follower", getFollowerId()).setCause(failure)
            .log("log appender failed; replacing it");
        try {
          Thread.sleep(RESTART_PAUSE_MS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
        if (isRunning()) {
          // Stops this appender (its thread is this one, which then ends) and starts another
          // for the same follower, which resumes from the follower's known indexes.
          getLeaderState().restart(this);
        }
      }
    }
  }
}
