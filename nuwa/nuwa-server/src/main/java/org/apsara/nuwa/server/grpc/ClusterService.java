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
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import org.apache.ratis.protocol.RaftPeer;
import org.apsara.nuwa.server.raft.proto.MemberAttributes;

/**
 * etcd's Cluster service over the Raft group's membership. A member is added by starting it with
 * {@code --join}, which asks the group itself once it is running (see {@code NuwaConfig.join});
 * members are removed here. Learners and changing a member's peer address are not offered.
 */
final class ClusterService extends ClusterGrpc.ClusterImplBase {
  private final ServerContext ctx;

  ClusterService(ServerContext ctx) {
    this.ctx = ctx;
  }

  /**
   * Every voter of the group as this member knows it, in name order, with the client URLs each
   * published when it started.
   */
  List<Member> members() {
    Map<String, MemberAttributes> attributes = ctx.stateMachine.memberAttributes();
    List<Member> members = new ArrayList<>();
    List<RaftPeer> peers = new ArrayList<>(ctx.raft.members());
    peers.sort(Comparator.comparing(peer -> peer.getId().toString()));
    for (RaftPeer peer : peers) {
      String name = peer.getId().toString();
      Member.Builder member = Member.newBuilder()
          .setID(ServerContext.memberId(name))
          .setName(name)
          .addPeerURLs(ctx.config.peerScheme() + "://" + peer.getAddress());
      MemberAttributes published = attributes.get(name);
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
    ctx.guard(observer, () -> {
      ctx.caller().requireAdmin();
      throw Status.UNIMPLEMENTED.withDescription("etcdserver: a Nuwa member is added by starting"
          + " it with --join (apsara run nuwa --join --id NAME --peers ...): it asks the running"
          + " group to add it, and the group does once it has brought the member up to date")
          .asRuntimeException();
    });
  }

  @Override
  public void memberRemove(MemberRemoveRequest request, StreamObserver<MemberRemoveResponse> observer) {
    ctx.guard(observer, () -> {
      ctx.caller().requireAdmin();
      String name = ctx.memberName(request.getID()).orElseThrow(() -> Status.NOT_FOUND
          .withDescription("etcdserver: member not found").asRuntimeException());
      if (ctx.raft.members().size() == 1) {
        throw Status.FAILED_PRECONDITION.withDescription(
            "etcdserver: cannot remove the only member of the group").asRuntimeException();
      }
      ctx.raft.removeMember(name).whenComplete((done, failure) -> {
        if (failure != null) {
          observer.onError(ServerContext.toStatusException(failure));
          return;
        }
        observer.onNext(MemberRemoveResponse.newBuilder().setHeader(ctx.header())
            .addAllMembers(members().stream().filter(m -> m.getID() != request.getID()).toList())
            .build());
        observer.onCompleted();
      });
    });
  }

  @Override
  public void memberUpdate(MemberUpdateRequest request, StreamObserver<MemberUpdateResponse> observer) {
    ctx.guard(observer, () -> {
      ctx.caller().requireAdmin();
      throw Status.UNIMPLEMENTED.withDescription("etcdserver: a Nuwa member's peer address"
          + " cannot change; remove the member and start it again with --join at the new"
          + " address").asRuntimeException();
    });
  }

  @Override
  public void memberPromote(MemberPromoteRequest request,
      StreamObserver<MemberPromoteResponse> observer) {
    ctx.guard(observer, () -> {
      ctx.caller().requireAdmin();
      throw Status.UNIMPLEMENTED.withDescription("etcdserver: Nuwa has no learners; a member"
          + " joins as a voter once it is up to date").asRuntimeException();
    });
  }
}
