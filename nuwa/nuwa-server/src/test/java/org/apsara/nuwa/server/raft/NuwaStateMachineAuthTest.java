package org.apsara.nuwa.server.raft;

import static org.apsara.nuwa.server.auth.AuthRecords.enable;
import static org.apsara.nuwa.server.auth.AuthRecords.grant;
import static org.apsara.nuwa.server.auth.AuthRecords.grantRole;
import static org.apsara.nuwa.server.auth.AuthRecords.roleAdd;
import static org.apsara.nuwa.server.auth.AuthRecords.userAdd;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.LeaseGrantRequest;
import io.etcd.jetcd.api.LeaseRevokeRequest;
import io.etcd.jetcd.api.Permission;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.RangeRequest;
import io.grpc.Status;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apsara.common.time.ManualClock;
import org.apsara.nuwa.api.NuwaErrors;
import org.apsara.nuwa.server.auth.AuthState;
import org.apsara.nuwa.server.mvcc.MvccStore;
import org.apsara.nuwa.server.raft.proto.AuthRecord;
import org.apsara.nuwa.server.raft.proto.AuthStamp;
import org.apsara.nuwa.server.raft.proto.LogRecord;
import org.apsara.nuwa.server.raft.proto.MemberAttributes;
import org.apsara.nuwa.server.raft.proto.Query;
import org.apsara.nuwa.server.raft.proto.RecordBatch;
import org.apsara.nuwa.server.raft.proto.Reply;
import org.junit.jupiter.api.Test;

/**
 * The authentication state in the replicated state machine: applied from the log the same way
 * everywhere, enforced on stamped records when they apply, and carried by snapshots.
 */
class NuwaStateMachineAuthTest {
  private static final long LEASE = 77;

  private static NuwaStateMachine machine() {
    return new NuwaStateMachine(new ManualClock());
  }

  private static LogRecord auth(AuthRecord record) {
    return LogRecord.newBuilder().setAuth(record).build();
  }

  private static ByteString bs(String text) {
    return ByteString.copyFromUtf8(text);
  }

  private static LogRecord put(String key, long lease, AuthStamp stamp) {
    return LogRecord.newBuilder().setAuthStamp(stamp).setPut(
        PutRequest.newBuilder().setKey(bs(key)).setValue(bs("v")).setLease(lease)).build();
  }

  private static AuthStamp stamp(NuwaStateMachine machine, String user) {
    return AuthStamp.newBuilder().setUser(user).setRevision(machine.auth().state().revision())
        .build();
  }

  /** Root, and "alice" who may write under /a/; the lease holds /b/1, which only root may write. */
  private static List<LogRecord> setup() {
    return List.of(
        auth(userAdd("root")), auth(grantRole("root", "root")),
        auth(userAdd("alice")), auth(roleAdd("a")),
        auth(grant("a", Permission.Type.READWRITE, "/a/", "/a0")), auth(grantRole("alice", "a")),
        LogRecord.newBuilder().setLeaseGrant(LeaseGrantRequest.newBuilder().setID(LEASE).setTTL(60))
            .build(),
        LogRecord.newBuilder().setPut(PutRequest.newBuilder().setKey(bs("/b/1")).setLease(LEASE))
            .build(),
        LogRecord.newBuilder().setMemberAttributes(MemberAttributes.newBuilder().setName("n1")
            .addClientUrls("http://127.0.0.1:2379")).build(),
        auth(enable("0123456789abcdef0123456789abcdef")));
  }

  private static String outcome(Reply reply) {
    return reply.hasError() ? Status.fromCodeValue(reply.getError().getCode()).getCode() + " "
        + reply.getError().getMessage() : reply.getResultCase().toString();
  }

  @Test
  void stampedRecordsApplyOnlyUnderTheAuthRevisionTheyWereCheckedAt() {
    NuwaStateMachine machine = machine();
    setup().forEach(machine::apply);
    AuthStamp checked = stamp(machine, "alice");
    assertThat(outcome(machine.apply(put("/a/1", 0, checked)))).isEqualTo("PUT");

    // An auth change lands between the check and the apply: the write is refused, unapplied.
    machine.apply(auth(roleAdd("unrelated")));
    assertThat(outcome(machine.apply(put("/a/2", 0, checked))))
        .isEqualTo("INVALID_ARGUMENT " + NuwaErrors.AUTH_OLD_REVISION.getDescription());
    assertThat(machine.store().range(RangeRequest.newBuilder().setKey(bs("/a/2")).build())
        .getCount()).isZero();

    // Records Nuwa proposes itself carry no stamp and are not subject to any user.
    assertThat(outcome(machine.apply(LogRecord.newBuilder()
        .setLeaseExpire(LeaseRevokeRequest.newBuilder().setID(LEASE)).build())))
        .isEqualTo("LEASE_REVOKE");
  }

  @Test
  void aLeaseMayBeUsedOnlyByWhoeverMayWriteAllItsKeys() {
    NuwaStateMachine machine = machine();
    setup().forEach(machine::apply);
    String denied = "PERMISSION_DENIED " + NuwaErrors.PERMISSION_DENIED.getDescription();
    // Alice may write /a/3, but the lease holds /b/1, which she may not.
    assertThat(outcome(machine.apply(put("/a/3", LEASE, stamp(machine, "alice")))))
        .isEqualTo(denied);
    assertThat(outcome(machine.apply(LogRecord.newBuilder().setAuthStamp(stamp(machine, "alice"))
        .setLeaseRevoke(LeaseRevokeRequest.newBuilder().setID(LEASE)).build()))).isEqualTo(denied);
    assertThat(outcome(machine.apply(put("/a/3", LEASE, stamp(machine, "root")))))
        .isEqualTo("PUT");
  }

  @Test
  void theSameRecordsGiveTheSameStateAndSnapshotBytesOnEveryMember() throws IOException {
    List<LogRecord> log = new ArrayList<>(setup());
    NuwaStateMachine first = machine();
    log.forEach(first::apply);
    AuthStamp aliceStamp = stamp(first, "alice");
    log.add(LogRecord.newBuilder().setBatch(RecordBatch.newBuilder()
        .addRecords(put("/a/x", 0, aliceStamp))
        .addRecords(put("/b/x", 0, aliceStamp.toBuilder().setRevision(1).build()))
        .addRecords(auth(roleAdd("late")))).build());
    log.add(put("/a/y", 0, aliceStamp)); // now old: "late" moved the revision

    NuwaStateMachine a = machine();
    NuwaStateMachine b = machine();
    List<String> repliesA = log.stream().map(a::apply).map(NuwaStateMachineAuthTest::outcome).toList();
    List<String> repliesB = log.stream().map(b::apply).map(NuwaStateMachineAuthTest::outcome).toList();
    assertThat(repliesA).isEqualTo(repliesB);
    assertThat(repliesA.get(repliesA.size() - 1)).startsWith("INVALID_ARGUMENT");
    assertThat(state(a)).isEqualTo(state(b));

    // A snapshot loads back into the same state, which writes the same bytes again.
    NuwaStateMachine restored = machine();
    restored.readState(new DataInputStream(new ByteArrayInputStream(state(a))), "test");
    assertThat(state(restored)).isEqualTo(state(a));
    assertThat(restored.auth().state().enabled()).isTrue();
    assertThat(restored.auth().state().permissions("alice").write().covers(bs("/a/z"), bs("")))
        .isTrue();
    assertThat(restored.answer(Query.newBuilder().setAuthStatus(
        org.apsara.nuwa.server.auth.proto.AuthStatusRequest.getDefaultInstance()).build())
        .getAuthStatus().getAuthRevision()).isEqualTo(a.auth().state().revision());
  }

  @Test
  void aVersionOneSnapshotLoadsWithNoAuthenticationState() throws IOException {
    // What Nuwa wrote before it had authentication: magic, version 1, members, the store.
    MvccStore store = new MvccStore();
    store.put(PutRequest.newBuilder().setKey(bs("k")).setValue(bs("v")).build());
    MemberAttributes member = MemberAttributes.newBuilder().setName("n1").build();
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    DataOutputStream out = new DataOutputStream(bytes);
    out.writeLong(0x4e55574153_4e4150L);
    out.writeInt(1);
    out.writeInt(1);
    out.writeInt(member.getSerializedSize());
    out.write(member.toByteArray());
    store.writeSnapshot(out);

    // Loaded over a state that has authentication, as a follower installing an old snapshot.
    NuwaStateMachine machine = machine();
    setup().forEach(machine::apply);
    machine.readState(new DataInputStream(new ByteArrayInputStream(bytes.toByteArray())), "v1");
    AuthState auth = machine.auth().state();
    assertThat(auth.enabled()).isFalse();
    assertThat(auth.revision()).isEqualTo(AuthState.INITIAL_REVISION);
    assertThat(auth.users()).isEmpty();
    assertThat(machine.store().revision()).isEqualTo(store.revision());
    assertThat(machine.memberAttributes()).containsOnlyKeys("n1");
    // Written again, it is a snapshot of the current version (3: with alarms).
    assertThat(new DataInputStream(new ByteArrayInputStream(state(machine), 8, 4)).readInt())
        .isEqualTo(3);
  }

  private static byte[] state(NuwaStateMachine machine) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    machine.writeState(new DataOutputStream(bytes));
    return bytes.toByteArray();
  }
}
