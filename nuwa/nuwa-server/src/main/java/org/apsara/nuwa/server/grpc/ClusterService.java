package org.apsara.nuwa.server.grpc;

import io.etcd.jetcd.api.ClusterGrpc;
import io.etcd.jetcd.api.Member;
import io.etcd.jetcd.api.MemberAddRequest;
import io.etcd.jetcd.api.MemberAddResponse;
import io.etcd.jetcd.api.MemberListRequest;
import io.etcd.jetcd.api.MemberListResponse;
import io.etcd.jetcd.api.MemberPromoteRequest;
import io.etcd.jetcd.api.MemberPromoteResponse;
import io.etcd.jetcd.api.MemberRemoveRequest;
import io.etcd.jetcd.api.MemberRemoveResponse;
import io.etcd.jetcd.api.MemberUpdateRequest;
import io.etcd.jetcd.api.MemberUpdateResponse;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.Map;
import org.apsara.common.net.HostPort;
import org.apsara.nuwa.server.raft.proto.MemberAttributes;

/**
 * etcd's Cluster service. Membership is the static group a cluster was started with; changing it
 * at run time is not offered yet, and the calls that would say so clearly.
 */
final class ClusterService extends ClusterGrpc.ClusterImplBase {
  private final ServerContext ctx;

  ClusterService(ServerContext ctx) {
    this.ctx = ctx;
  }

  /** Every member of the group, with the client URLs each published when it started. */
  List<Member> members() {
    Map<String, MemberAttributes> attributes = ctx.stateMachine.memberAttributes();
    List<Member> members = new java.util.ArrayList<>();
    for (Map.Entry<String, HostPort> peer : ctx.config.peersInOrder().entrySet()) {
      Member.Builder member = Member.newBuilder()
          .setID(ServerContext.memberId(peer.getKey()))
          .setName(peer.getKey())
          .addPeerURLs(ctx.config.peerScheme() + "://" + peer.getValue().format());
      MemberAttributes published = attributes.get(peer.getKey());
      if (published != null) {
        member.addAllClientURLs(published.getClientUrlsList());
      }
      members.add(member.build());
    }
    return members;
  }

  @Override
  public void memberList(MemberListRequest request, StreamObserver<MemberListResponse> observer) {
    observer.onNext(MemberListResponse.newBuilder().setHeader(ctx.header())
        .addAllMembers(members()).build());
    observer.onCompleted();
  }

  @Override
  public void memberAdd(MemberAddRequest request, StreamObserver<MemberAddResponse> observer) {
    observer.onError(staticMembership());
  }

  @Override
  public void memberRemove(MemberRemoveRequest request, StreamObserver<MemberRemoveResponse> observer) {
    observer.onError(staticMembership());
  }

  @Override
  public void memberUpdate(MemberUpdateRequest request, StreamObserver<MemberUpdateResponse> observer) {
    observer.onError(staticMembership());
  }

  @Override
  public void memberPromote(MemberPromoteRequest request,
      StreamObserver<MemberPromoteResponse> observer) {
    observer.onError(staticMembership());
  }

  /**
   * Why a membership change is refused: etcd first requires the root role (when authentication
   * is enabled), so a caller without it learns that before anything else.
   */
  private io.grpc.StatusRuntimeException staticMembership() {
    try {
      ctx.caller().requireAdmin();
    } catch (io.grpc.StatusRuntimeException refused) {
      return refused;
    }
    return Status.UNIMPLEMENTED.withDescription(
        "etcdserver: Nuwa's membership is fixed when the cluster starts (--peers); "
            + "changing it at run time is not supported yet").asRuntimeException();
  }
}
