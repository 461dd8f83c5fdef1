package org.apsara.nuwa.client;

import io.etcd.jetcd.api.LeaseGrantRequest;
import io.etcd.jetcd.api.LeaseGrpc;
import io.etcd.jetcd.api.LeaseRevokeRequest;
import io.etcd.jetcd.api.LeaseTimeToLiveRequest;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.protobuf.ProtoUtils;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import org.apsara.nuwa.api.NuwaLimits;
import org.apsara.nuwa.api.proto.LeaseLeasesRequest;
import org.apsara.nuwa.api.proto.LeaseLeasesResponse;
import org.apsara.nuwa.api.proto.LeaseStatus;
import org.apsara.nuwa.client.RpcInvoker.Idempotency;

/**
 * Grants, inspects, revokes and keeps alive leases. Obtained from {@link NuwaClient#lease()};
 * thread-safe. Errors and timeouts are as for {@link KvClient}.
 */
public final class LeaseClient {
  /**
   * etcd's {@code Lease/LeaseLeases} (etcd 3.3+), which the generated stubs lack: same service and
   * method name, messages from Nuwa's wire-compatible copy.
   */
  static final MethodDescriptor<LeaseLeasesRequest, LeaseLeasesResponse> LEASE_LEASES_METHOD =
      MethodDescriptor.<LeaseLeasesRequest, LeaseLeasesResponse>newBuilder()
          .setType(MethodDescriptor.MethodType.UNARY)
          .setFullMethodName(
              MethodDescriptor.generateFullMethodName(LeaseGrpc.SERVICE_NAME, "LeaseLeases"))
          .setIdempotent(true)
          .setRequestMarshaller(ProtoUtils.marshaller(LeaseLeasesRequest.getDefaultInstance()))
          .setResponseMarshaller(ProtoUtils.marshaller(LeaseLeasesResponse.getDefaultInstance()))
          .build();

  private final ClientContext context;

  LeaseClient(ClientContext context) {
    this.context = context;
  }

  /**
   * Grants a lease of {@code ttlSeconds} (at most {@link NuwaLimits#MAX_LEASE_TTL_SECONDS}; the
   * server raises TTLs below its minimum). The lease expires unless kept alive.
   */
  public LeaseGrant grant(long ttlSeconds) {
    return Errors.await(grantAsync(ttlSeconds));
  }

  public CompletableFuture<LeaseGrant> grantAsync(long ttlSeconds) {
    if (ttlSeconds < 1 || ttlSeconds > NuwaLimits.MAX_LEASE_TTL_SECONDS) {
      throw new IllegalArgumentException(
          "lease TTL must be 1.." + NuwaLimits.MAX_LEASE_TTL_SECONDS + " seconds: " + ttlSeconds);
    }
    LeaseGrantRequest request = LeaseGrantRequest.newBuilder().setTTL(ttlSeconds).build();
    return context
        .rpc()
        .call(LeaseGrpc.getLeaseGrantMethod(), request, Idempotency.NOT_IDEMPOTENT)
        .thenApply(
            r -> {
              if (!r.getError().isEmpty()) {
                throw new NuwaException(Status.Code.UNKNOWN, r.getError());
              }
              return new LeaseGrant(r.getID(), r.getTTL());
            });
  }

  /**
   * Revokes a lease: deletes every key attached to it, at one revision. Throws {@link
   * LeaseNotFoundException} if the lease does not exist.
   */
  public void revoke(long leaseId) {
    Errors.await(revokeAsync(leaseId));
  }

  public CompletableFuture<Void> revokeAsync(long leaseId) {
    LeaseRevokeRequest request = LeaseRevokeRequest.newBuilder().setID(leaseId).build();
    return context
        .rpc()
        .call(LeaseGrpc.getLeaseRevokeMethod(), request, Idempotency.NOT_IDEMPOTENT)
        .thenApply(r -> null);
  }

  /** How long a lease has left, and optionally the keys attached to it. */
  public LeaseTimeToLive timeToLive(long leaseId, boolean withKeys) {
    LeaseTimeToLiveRequest request =
        LeaseTimeToLiveRequest.newBuilder().setID(leaseId).setKeys(withKeys).build();
    return Errors.await(
        context
            .rpc()
            .call(LeaseGrpc.getLeaseTimeToLiveMethod(), request, Idempotency.IDEMPOTENT)
            .thenApply(
                r ->
                    new LeaseTimeToLive(
                        r.getID(), r.getTTL(), r.getGrantedTTL(), r.getKeysList())));
  }

  /** The IDs of every lease that exists. */
  public List<Long> leases() {
    return Errors.await(
        context
            .rpc()
            .call(
                LEASE_LEASES_METHOD,
                LeaseLeasesRequest.getDefaultInstance(),
                Idempotency.IDEMPOTENT)
            .thenApply(r -> r.getLeasesList().stream().map(LeaseStatus::getID).toList()));
  }

  /**
   * Starts keeping {@code leaseId} alive until the returned keeper is closed, the lease is lost, or
   * the client closes. {@code listener} hears of renewals and of the loss.
   */
  public LeaseKeeper keepAlive(long leaseId, LeaseKeepAliveListener listener) {
    Objects.requireNonNull(listener, "listener");
    LeaseKeeper keeper = new LeaseKeeper(context, leaseId, listener);
    keeper.start();
    return keeper;
  }
}
