package org.apsara.nuwa.server.raft;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.AlarmMember;
import io.etcd.jetcd.api.AlarmRequest;
import io.etcd.jetcd.api.AlarmType;
import io.etcd.jetcd.api.CompactionRequest;
import io.etcd.jetcd.api.DeleteRangeRequest;
import io.etcd.jetcd.api.LeaseGrantRequest;
import io.etcd.jetcd.api.LeaseRevokeRequest;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.RangeRequest;
import io.etcd.jetcd.api.RequestOp;
import io.etcd.jetcd.api.TxnRequest;
import io.grpc.Status;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import org.apsara.common.time.ManualClock;
import org.apsara.nuwa.api.NuwaErrors;
import org.apsara.nuwa.server.auth.AuthStore;
import org.apsara.nuwa.server.raft.proto.LogRecord;
import org.apsara.nuwa.server.raft.proto.RecordBatch;
import org.apsara.nuwa.server.raft.proto.Reply;
import org.junit.jupiter.api.Test;

/**
 * The NOSPACE alarm in the replicated state machine: raised and cleared through the log, it makes
 * every member refuse the records that add data, whichever member proposed them, and nothing
 * else; snapshots carry it.
 */
class NuwaStateMachineAlarmTest {
  private static final long MEMBER = 0x1234;

  private static ByteString bs(String text) {
    return ByteString.copyFromUtf8(text);
  }

  private static LogRecord alarm(AlarmRequest.AlarmAction action, AlarmType type) {
    return LogRecord.newBuilder().setAlarm(AlarmRequest.newBuilder().setAction(action)
        .setMemberID(MEMBER).setAlarm(type)).build();
  }

  private static LogRecord raise() {
    return alarm(AlarmRequest.AlarmAction.ACTIVATE, AlarmType.NOSPACE);
  }

  private static LogRecord clear() {
    return alarm(AlarmRequest.AlarmAction.DEACTIVATE, AlarmType.NOSPACE);
  }

  private static LogRecord put(String key) {
    return LogRecord.newBuilder().setPut(PutRequest.newBuilder().setKey(bs(key)).setValue(bs("v")))
        .build();
  }

  private static LogRecord txn(RequestOp success, RequestOp failure) {
    return LogRecord.newBuilder().setTxn(TxnRequest.newBuilder().addSuccess(success)
        .addFailure(failure)).build();
  }

  private static RequestOp putOp(String key) {
    return RequestOp.newBuilder().setRequestPut(PutRequest.newBuilder().setKey(bs(key))
        .setValue(bs("v"))).build();
  }

  private static RequestOp rangeOp(String key) {
    return RequestOp.newBuilder().setRequestRange(RangeRequest.newBuilder().setKey(bs(key)))
        .build();
  }

  private static RequestOp deleteOp(String key) {
    return RequestOp.newBuilder().setRequestDeleteRange(DeleteRangeRequest.newBuilder()
        .setKey(bs(key))).build();
  }

  private static void assertNoSpace(Reply reply) {
    assertThat(reply.hasError()).as("refused: %s", reply).isTrue();
    assertThat(reply.getError().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED.value());
    assertThat(reply.getError().getMessage())
        .isEqualTo(NuwaErrors.NO_SPACE.getDescription())
        .isEqualTo("etcdserver: mvcc: database space exceeded");
  }

  private static void assertApplied(Reply reply) {
    assertThat(reply.hasError()).as("applied: %s", reply).isFalse();
  }

  @Test
  void whileNoSpaceIsRaisedOnlyWritesThatAddDataAreRefused() {
    NuwaStateMachine machine = new NuwaStateMachine(new ManualClock());
    assertApplied(machine.apply(put("a")));
    assertApplied(machine.apply(put("b")));
    assertApplied(machine.apply(LogRecord.newBuilder().setLeaseGrant(
        LeaseGrantRequest.newBuilder().setID(5).setTTL(60)).build()));
    assertThat(machine.noSpace()).isFalse();

    Reply raised = machine.apply(raise());
    assertThat(raised.getAlarm().getAlarmsList()).containsExactly(AlarmMember.newBuilder()
        .setMemberID(MEMBER).setAlarm(AlarmType.NOSPACE).build());
    assertThat(machine.noSpace()).isTrue();
    long revision = machine.store().revision();

    // Refused, and nothing of them applied.
    assertNoSpace(machine.apply(put("c")));
    assertNoSpace(machine.apply(txn(rangeOp("a"), putOp("c")))); // a put in either branch
    assertNoSpace(machine.apply(LogRecord.newBuilder().setTxn(TxnRequest.newBuilder()
        .addSuccess(RequestOp.newBuilder().setRequestTxn(TxnRequest.newBuilder()
            .addSuccess(putOp("c"))))).build())); // or in a nested transaction
    assertNoSpace(machine.apply(LogRecord.newBuilder().setLeaseGrant(
        LeaseGrantRequest.newBuilder().setID(6).setTTL(60)).build()));
    assertThat(machine.store().revision()).isEqualTo(revision);
    assertThat(machine.store().lease(6)).isEmpty();

    // What frees space, or adds nothing, still applies: deletes, read-only transactions,
    // revocations, compaction; in a batch each record is judged on its own.
    Reply batch = machine.apply(LogRecord.newBuilder().setBatch(RecordBatch.newBuilder()
        .addRecords(put("c"))
        .addRecords(LogRecord.newBuilder().setDeleteRange(DeleteRangeRequest.newBuilder()
            .setKey(bs("a"))))).build());
    assertNoSpace(batch.getBatch().getReplies(0));
    assertApplied(batch.getBatch().getReplies(1));
    assertApplied(machine.apply(txn(rangeOp("b"), deleteOp("b"))));
    assertApplied(machine.apply(LogRecord.newBuilder().setLeaseRevoke(
        LeaseRevokeRequest.newBuilder().setID(5)).build()));
    assertApplied(machine.apply(LogRecord.newBuilder().setCompaction(
        CompactionRequest.newBuilder().setRevision(machine.store().revision())).build()));
    assertThat(machine.store().revision()).isGreaterThan(revision);

    // Cleared, writes apply again; clearing what is not raised changes nothing.
    assertThat(machine.apply(clear()).getAlarm().getAlarmsCount()).isEqualTo(1);
    assertThat(machine.noSpace()).isFalse();
    assertThat(machine.alarms()).isEmpty();
    assertApplied(machine.apply(put("c")));
    assertThat(machine.apply(clear()).getAlarm().getAlarmsCount()).isZero();
  }

  @Test
  void onlyNoSpaceIsRaisedWhenItApplies() {
    NuwaStateMachine machine = new NuwaStateMachine(new ManualClock());
    for (int type : new int[] {AlarmType.NONE_VALUE, 2}) { // NONE, and etcd's CORRUPT
      Reply reply = machine.apply(LogRecord.newBuilder().setAlarm(AlarmRequest.newBuilder()
          .setAction(AlarmRequest.AlarmAction.ACTIVATE).setMemberID(MEMBER).setAlarmValue(type))
          .build());
      assertThat(reply.getError().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT.value());
    }
    assertThat(machine.alarms()).isEmpty();
  }

  @Test
  void snapshotsCarryTheAlarms() throws IOException {
    NuwaStateMachine machine = new NuwaStateMachine(new ManualClock());
    machine.apply(put("a"));
    machine.apply(raise());
    byte[] state = state(machine);

    NuwaStateMachine restored = new NuwaStateMachine(new ManualClock());
    restored.readState(new DataInputStream(new ByteArrayInputStream(state)), "test");
    assertThat(restored.alarms()).isEqualTo(machine.alarms());
    assertNoSpace(restored.apply(put("b")));
    assertThat(state(restored)).isEqualTo(state);
  }

  @Test
  void aVersionTwoSnapshotLoadsWithNoAlarms() throws IOException {
    // What Nuwa wrote before it had alarms: magic, version 2, members, auth state, the store.
    NuwaStateMachine old = new NuwaStateMachine(new ManualClock());
    old.apply(put("k"));
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    DataOutputStream out = new DataOutputStream(bytes);
    out.writeLong(0x4e55574153_4e4150L);
    out.writeInt(2);
    out.writeInt(0);
    new AuthStore().writeSnapshot(out);
    old.store().writeSnapshot(out);

    // Loaded over a state with a raised alarm, as a follower installing an old snapshot.
    NuwaStateMachine machine = new NuwaStateMachine(new ManualClock());
    machine.apply(raise());
    machine.readState(new DataInputStream(new ByteArrayInputStream(bytes.toByteArray())), "v2");
    assertThat(machine.alarms()).isEmpty();
    assertThat(machine.store().revision()).isEqualTo(old.store().revision());
    assertApplied(machine.apply(put("k2")));
  }

  private static byte[] state(NuwaStateMachine machine) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    machine.writeState(new DataOutputStream(bytes));
    return bytes.toByteArray();
  }
}
