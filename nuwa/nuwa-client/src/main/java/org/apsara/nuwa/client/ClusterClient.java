package org.apsara.nuwa.client;

import io.etcd.jetcd.api.AlarmMember;
import io.etcd.jetcd.api.AlarmRequest;
import io.etcd.jetcd.api.ClusterGrpc;
import io.etcd.jetcd.api.MaintenanceGrpc;
import io.etcd.jetcd.api.MemberListRequest;
import io.etcd.jetcd.api.MemberRemoveRequest;
import io.etcd.jetcd.api.StatusRequest;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apsara.nuwa.client.RpcInvoker.Idempotency;

/**
 * The cluster's members and each member's own status. Obtained from {@link NuwaClient#cluster()};
 * thread-safe.
 */
public final class ClusterClient {
  private final RpcInvoker rpc;
  private final Duration timeout;
  private final AuthTokens auth;

  ClusterClient(RpcInvoker rpc, Duration timeout, AuthTokens auth) {
    this.rpc = rpc;
    this.timeout = timeout;
    this.auth = auth;
  }

  /** One member of the cluster, as the cluster lists it. */
  public record Member(long id, String name, List<String> peerUrls, List<String> clientUrls) {}

  /** What one member says about itself and the cluster (etcd's {@code endpoint status}). */
  public record MemberStatus(String endpoint, long memberId, String version, long leaderId,
      long raftTerm, long raftIndex, long raftAppliedIndex, long revision, long dbSizeBytes,
      List<String> errors) {
    public boolean isLeader() {
      return memberId == leaderId && leaderId != 0;
    }
  }

  /** Every member of the cluster. */
  public List<Member> members() {
    return Errors.await(rpc.call(ClusterGrpc.getMemberListMethod(),
            MemberListRequest.getDefaultInstance(), Idempotency.IDEMPOTENT)
        .thenApply(response -> response.getMembersList().stream().map(ClusterClient::member)
            .toList()));
  }

  /**
   * Takes a member out of the cluster (etcd's MemberRemove); returns the members that remain.
   * Needs the root role when authentication is enabled.
   *
   * @throws NuwaException NOT_FOUND if no member has this ID; FAILED_PRECONDITION if it is the
   *     only member, or the membership changed meanwhile (nothing is removed then)
   */
  public List<Member> removeMember(long id) {
    return Errors.await(rpc.call(ClusterGrpc.getMemberRemoveMethod(),
            MemberRemoveRequest.newBuilder().setID(id).build(), Idempotency.NOT_IDEMPOTENT)
        .thenApply(response -> response.getMembersList().stream().map(ClusterClient::member)
            .toList()));
  }

  /**
   * An alarm a member raised: {@code NOSPACE} when a write would have taken the store past that
   * member's quota. While it is raised, every member refuses writes that add data.
   */
  public record Alarm(long memberId, String type) {}

  /** The alarms raised in the cluster; empty when there are none. */
  public List<Alarm> alarms() {
    return Errors.await(rpc.call(MaintenanceGrpc.getAlarmMethod(),
            AlarmRequest.newBuilder().setAction(AlarmRequest.AlarmAction.GET).build(),
            Idempotency.IDEMPOTENT)
        .thenApply(response -> response.getAlarmsList().stream().map(ClusterClient::alarm)
            .toList()));
  }

  /**
   * Clears every raised alarm (etcd's {@code alarm disarm}) and returns those it cleared. Make
   * room first (delete keys, compact history): a write past the quota raises NOSPACE again.
   * Needs the root role when authentication is enabled.
   */
  public List<Alarm> disarmAlarms() {
    List<Alarm> cleared = new ArrayList<>();
    for (Alarm raised : alarms()) {
      AlarmRequest clear = AlarmRequest.newBuilder()
          .setAction(AlarmRequest.AlarmAction.DEACTIVATE).setMemberID(raised.memberId())
          .setAlarm(io.etcd.jetcd.api.AlarmType.valueOf(raised.type())).build();
      Errors.await(rpc.call(MaintenanceGrpc.getAlarmMethod(), clear, Idempotency.NOT_IDEMPOTENT)
          .thenApply(response -> response.getAlarmsList().stream().map(ClusterClient::alarm)
              .toList())).forEach(cleared::add);
    }
    return cleared;
  }

  private static Alarm alarm(AlarmMember alarm) {
    return new Alarm(alarm.getMemberID(), alarm.getAlarm().name());
  }

  private static Member member(io.etcd.jetcd.api.Member m) {
    return new Member(m.getID(), m.getName(), List.copyOf(m.getPeerURLsList()),
        List.copyOf(m.getClientURLsList()));
  }

  /**
   * Asks the member at {@code endpoint} ("host:port") for its status, over a connection of its
   * own, so that the answer comes from that member and no other. With authentication it carries
   * the client's token, renewed once if the member refuses it.
   *
   * @throws NuwaException if the member does not answer within the request timeout
   */
  public MemberStatus status(String endpoint) {
    Endpoint parsed = Endpoint.parse(endpoint);
    var channelBuilder = Grpc.newChannelBuilder(parsed.authority(),
        InsecureChannelCredentials.create());
    if (auth != null) {
      channelBuilder.intercept(auth.interceptor());
    }
    ManagedChannel channel = channelBuilder.build();
    try {
      var response = statusOnce(channel, true);
      return new MemberStatus(parsed.authority(), response.getHeader().getMemberId(),
          response.getVersion(), response.getLeader(), response.getRaftTerm(),
          response.getRaftIndex(), response.getRaftAppliedIndex(),
          response.getHeader().getRevision(), response.getDbSize(),
          List.copyOf(response.getErrorsList()));
    } catch (StatusRuntimeException e) {
      throw Errors.toNuwaException(e);
    } finally {
      channel.shutdownNow();
    }
  }

  private io.etcd.jetcd.api.StatusResponse statusOnce(ManagedChannel channel, boolean mayRenew) {
    AtomicReference<String> sentToken = new AtomicReference<>();
    try {
      return MaintenanceGrpc.newBlockingStub(channel)
          .withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS)
          .withOption(AuthTokens.SENT_TOKEN, sentToken)
          .status(StatusRequest.getDefaultInstance());
    } catch (StatusRuntimeException e) {
      if (mayRenew && auth != null && sentToken.get() != null
          && Errors.isStaleToken(e.getStatus())) {
        auth.renew(sentToken.get());
        return statusOnce(channel, false);
      }
      throw e;
    }
  }
}
