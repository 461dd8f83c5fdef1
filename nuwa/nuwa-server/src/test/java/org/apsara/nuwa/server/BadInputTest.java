package org.apsara.nuwa.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.CompactionRequest;
import io.etcd.jetcd.api.Compare;
import io.etcd.jetcd.api.KVGrpc;
import io.etcd.jetcd.api.LeaseGrantRequest;
import io.etcd.jetcd.api.LeaseGrpc;
import io.etcd.jetcd.api.LeaseRevokeRequest;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.RangeRequest;
import io.etcd.jetcd.api.RequestOp;
import io.etcd.jetcd.api.TxnRequest;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every bad request gets etcd's status and message, and changes nothing. */
class BadInputTest {
  @TempDir static Path dir;
  static NuwaTestCluster cluster;
  static ManagedChannel channel;

  @BeforeAll
  static void start() {
    cluster = NuwaTestCluster.start(dir, 1);
    channel = NettyChannelBuilder.forTarget(cluster.endpoint(0)).usePlaintext()
        .maxInboundMessageSize(16 << 20).build();
  }

  @AfterAll
  static void stop() throws InterruptedException {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    cluster.close();
  }

  private static KVGrpc.KVBlockingStub kv() {
    return KVGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
  }

  private static LeaseGrpc.LeaseBlockingStub lease() {
    return LeaseGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
  }

  private static ByteString bytes(String s) {
    return ByteString.copyFromUtf8(s);
  }

  private static long revision() {
    return kv().range(RangeRequest.newBuilder().setKey(bytes("any")).build()).getHeader().getRevision();
  }

  private static void assertRejectedUnchanged(Supplier<?> call, Status.Code code, String message) {
    long before = revision();
    StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class, call::get);
    assertThat(e).as("expected %s", message).isNotNull();
    assertThat(e.getStatus().getCode()).isEqualTo(code);
    assertThat(e.getStatus().getDescription()).isEqualTo(message);
    assertThat(revision()).as("revision after a rejected request").isEqualTo(before);
  }

  @Test
  void oversizeRequest() {
    ByteString big = ByteString.copyFrom(new byte[1536 * 1024 + 1]);
    assertRejectedUnchanged(() -> kv().put(PutRequest.newBuilder().setKey(bytes("big")).setValue(big).build()),
        Status.Code.INVALID_ARGUMENT, "etcdserver: request is too large");
  }

  @Test
  void emptyKey() {
    assertRejectedUnchanged(() -> kv().put(PutRequest.newBuilder().setValue(bytes("v")).build()),
        Status.Code.INVALID_ARGUMENT, "etcdserver: key is not provided");
  }

  @Test
  void unknownLease() {
    assertRejectedUnchanged(
        () -> kv().put(PutRequest.newBuilder().setKey(bytes("k")).setLease(123456789).build()),
        Status.Code.NOT_FOUND, "etcdserver: requested lease not found");
    assertRejectedUnchanged(() -> lease().leaseRevoke(LeaseRevokeRequest.newBuilder().setID(42).build()),
        Status.Code.NOT_FOUND, "etcdserver: requested lease not found");
  }

  @Test
  void leaseTtlTooLarge() {
    assertRejectedUnchanged(
        () -> lease().leaseGrant(LeaseGrantRequest.newBuilder().setTTL(9_000_000_001L).build()),
        Status.Code.OUT_OF_RANGE, "etcdserver: too large lease TTL");
  }

  @Test
  void tooManyTxnOps() {
    TxnRequest.Builder txn = TxnRequest.newBuilder();
    for (int i = 0; i < 129; i++) {
      txn.addSuccess(RequestOp.newBuilder().setRequestPut(
          PutRequest.newBuilder().setKey(bytes("t" + i)).setValue(bytes("v"))));
    }
    assertRejectedUnchanged(() -> kv().txn(txn.build()), Status.Code.INVALID_ARGUMENT,
        "etcdserver: too many operations in txn request");
  }

  @Test
  void failingOpInTxnAppliesNothing() {
    TxnRequest txn = TxnRequest.newBuilder()
        .addCompare(Compare.newBuilder().setKey(bytes("absent")).setTarget(Compare.CompareTarget.VERSION)
            .setResult(Compare.CompareResult.EQUAL).setVersion(0))
        .addSuccess(RequestOp.newBuilder().setRequestPut(
            PutRequest.newBuilder().setKey(bytes("first")).setValue(bytes("v"))))
        .addSuccess(RequestOp.newBuilder().setRequestPut(
            PutRequest.newBuilder().setKey(bytes("second")).setValue(bytes("v")).setLease(999)))
        .build();
    assertRejectedUnchanged(() -> kv().txn(txn), Status.Code.NOT_FOUND,
        "etcdserver: requested lease not found");
    assertThat(kv().range(RangeRequest.newBuilder().setKey(bytes("first")).build()).getCount()).isZero();
  }

  @Test
  void compactedAndFutureRevisions() {
    kv().put(PutRequest.newBuilder().setKey(bytes("h")).setValue(bytes("1")).build());
    long rev = kv().put(PutRequest.newBuilder().setKey(bytes("h")).setValue(bytes("2")).build())
        .getHeader().getRevision();
    kv().compact(CompactionRequest.newBuilder().setRevision(rev).build());
    assertRejectedUnchanged(
        () -> kv().range(RangeRequest.newBuilder().setKey(bytes("h")).setRevision(rev - 1).build()),
        Status.Code.OUT_OF_RANGE, "etcdserver: mvcc: required revision has been compacted");
    assertRejectedUnchanged(
        () -> kv().range(RangeRequest.newBuilder().setKey(bytes("h")).setRevision(rev + 1000).build()),
        Status.Code.OUT_OF_RANGE, "etcdserver: mvcc: required revision is a future revision");
    assertRejectedUnchanged(() -> kv().compact(CompactionRequest.newBuilder().setRevision(rev).build()),
        Status.Code.OUT_OF_RANGE, "etcdserver: mvcc: required revision has been compacted");
  }

  @Test
  void malformedBytesAreRejected() {
    long before = revision();
    // A request whose bytes are not a PutRequest at all. gRPC-Java refuses it before Nuwa sees
    // it, and reports the parse failure as UNKNOWN (etcd's Go server says INTERNAL).
    io.grpc.MethodDescriptor<byte[], byte[]> rawPut = KVGrpc.getPutMethod().toBuilder(
        new RawMarshaller(), new RawMarshaller()).build();
    StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class,
        () -> io.grpc.stub.ClientCalls.blockingUnaryCall(channel, rawPut,
            io.grpc.CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS),
            new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff}));
    assertThat(e).isNotNull();
    assertThat(e.getStatus().getCode()).isIn(Status.Code.UNKNOWN, Status.Code.INTERNAL);
    assertThat(revision()).isEqualTo(before);
  }

  private static final class RawMarshaller implements io.grpc.MethodDescriptor.Marshaller<byte[]> {
    @Override
    public java.io.InputStream stream(byte[] value) {
      return new java.io.ByteArrayInputStream(value);
    }

    @Override
    public byte[] parse(java.io.InputStream stream) {
      try {
        return stream.readAllBytes();
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }
  }
}
