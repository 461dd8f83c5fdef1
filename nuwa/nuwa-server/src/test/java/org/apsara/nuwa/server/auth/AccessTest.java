package org.apsara.nuwa.server.auth;

import static org.apsara.nuwa.server.auth.AuthRecords.assertStatus;
import static org.apsara.nuwa.server.auth.AuthRecords.enable;
import static org.apsara.nuwa.server.auth.AuthRecords.grant;
import static org.apsara.nuwa.server.auth.AuthRecords.grantRole;
import static org.apsara.nuwa.server.auth.AuthRecords.roleAdd;
import static org.apsara.nuwa.server.auth.AuthRecords.userAdd;
import static org.apsara.nuwa.server.auth.AuthRecords.userDelete;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.Compare;
import io.etcd.jetcd.api.DeleteRangeRequest;
import io.etcd.jetcd.api.Permission;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.RangeRequest;
import io.etcd.jetcd.api.RequestOp;
import io.etcd.jetcd.api.TxnRequest;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.apsara.nuwa.api.NuwaErrors;
import org.apsara.testkit.TestClock;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Judging requests by token and permissions, as etcd does. */
class AccessTest {
  private final AuthStore store = new AuthStore();
  private final TestClock clock = new TestClock(Instant.parse("2026-01-01T00:00:00Z"));
  private final AccessControl access =
      new AccessControl(store, new TokenCodec(clock, Duration.ofMinutes(5)));

  @BeforeEach
  void users() {
    store.apply(userAdd("root"));
    store.apply(grantRole("root", "root"));
    store.apply(userAdd("alice"));
    store.apply(roleAdd("t1"));
    store.apply(grant("t1", Permission.Type.READWRITE, "/t1/", "/t10"));
    store.apply(grant("t1", Permission.Type.WRITE, "/w/", "/w0"));
    store.apply(grantRole("alice", "t1"));
  }

  private String token(String user) {
    return access.issueToken(store.state(), user);
  }

  private static ByteString bs(String text) {
    return ByteString.copyFromUtf8(text);
  }

  private static PutRequest put(String key) {
    return PutRequest.newBuilder().setKey(bs(key)).setValue(bs("v")).build();
  }

  private static RequestOp op(PutRequest put) {
    return RequestOp.newBuilder().setRequestPut(put).build();
  }

  @Test
  void withAuthenticationDisabledEverythingIsAllowedWithoutToken() {
    Access anyone = access.authenticate(null);
    assertThat(anyone.enforced()).isFalse();
    assertThatCode(() -> {
      anyone.requireAdmin();
      anyone.checkPut(put("/t2/x"));
      anyone.checkRange(RangeRequest.newBuilder().setKey(bs("\0")).setRangeEnd(bs("\0")).build());
    }).doesNotThrowAnyException();
    assertThat(anyone.stamp().getRevision()).isEqualTo(store.state().revision());
  }

  @Test
  void tokensAreRequiredValidAndUnexpired() {
    store.apply(enable("key"));
    assertStatus(() -> access.authenticate(null), NuwaErrors.USER_EMPTY);
    assertStatus(() -> access.authenticate("not a token"), NuwaErrors.INVALID_AUTH_TOKEN);
    String token = token("alice");
    assertThat(access.authenticate(token).user()).isEqualTo("alice");
    clock.advance(Duration.ofMinutes(5));
    assertStatus(() -> access.authenticate(token), NuwaErrors.INVALID_AUTH_TOKEN);
    assertThat(access.authenticateIgnoringExpiry(token).user()).isEqualTo("alice");
  }

  @Test
  void keysNeedAPermissionCoveringTheWholeRange() {
    store.apply(enable("key"));
    Access alice = access.authenticate(token("alice"));
    assertThatCode(() -> {
      alice.checkPut(put("/t1/a"));
      alice.checkRange(RangeRequest.newBuilder().setKey(bs("/t1/")).setRangeEnd(bs("/t10")).build());
      alice.checkDeleteRange(DeleteRangeRequest.newBuilder().setKey(bs("/t1/a")).build());
    }).doesNotThrowAnyException();
    assertStatus(() -> alice.checkPut(put("/t2/a")), NuwaErrors.PERMISSION_DENIED);
    assertStatus(() -> alice.checkRange(RangeRequest.newBuilder().setKey(bs("/t1/"))
        .setRangeEnd(bs("\0")).build()), NuwaErrors.PERMISSION_DENIED);
    // Write-only keys: a put is fine, a put that returns the previous value needs read too.
    assertThatCode(() -> alice.checkPut(put("/w/a"))).doesNotThrowAnyException();
    assertStatus(() -> alice.checkPut(put("/w/a").toBuilder().setPrevKv(true).build()),
        NuwaErrors.PERMISSION_DENIED);
    assertStatus(() -> alice.checkDeleteRange(DeleteRangeRequest.newBuilder().setKey(bs("/w/a"))
        .setPrevKv(true).build()), NuwaErrors.PERMISSION_DENIED);
    assertStatus(() -> alice.requireAdmin(), NuwaErrors.PERMISSION_DENIED);
  }

  @Test
  void aTransactionNeedsEveryComparisonAndBothBranches() {
    store.apply(enable("key"));
    Access alice = access.authenticate(token("alice"));
    TxnRequest allowed = TxnRequest.newBuilder()
        .addCompare(Compare.newBuilder().setKey(bs("/t1/a")))
        .addSuccess(op(put("/t1/b")))
        .addFailure(op(put("/t1/c")))
        .build();
    assertThatCode(() -> alice.checkTxn(allowed)).doesNotThrowAnyException();
    assertStatus(() -> alice.checkTxn(allowed.toBuilder().addFailure(op(put("/t2/x"))).build()),
        NuwaErrors.PERMISSION_DENIED);
    assertStatus(() -> alice.checkTxn(allowed.toBuilder()
        .addCompare(Compare.newBuilder().setKey(bs("/t1/a")).setRangeEnd(bs("/t2"))).build()),
        NuwaErrors.PERMISSION_DENIED);
    TxnRequest nested = TxnRequest.newBuilder()
        .addSuccess(RequestOp.newBuilder().setRequestTxn(
            TxnRequest.newBuilder().addFailure(RequestOp.newBuilder().setRequestRange(
                RangeRequest.newBuilder().setKey(bs("/t2/secret"))))))
        .build();
    assertStatus(() -> alice.checkTxn(nested), NuwaErrors.PERMISSION_DENIED);
  }

  @Test
  void rootMayDoEverythingAndDeletedUsersNothing() {
    store.apply(enable("key"));
    Access root = access.authenticate(token("root"));
    assertThatCode(() -> {
      root.requireAdmin();
      root.checkPut(put("/anything"));
      root.checkEachKey(List.of(bs("/x"), bs("/y")), true);
    }).doesNotThrowAnyException();

    String aliceToken = token("alice");
    store.apply(userDelete("alice"));
    // The deletion moved the revision: the token is old before the user is even looked up.
    assertStatus(() -> access.authenticate(aliceToken).checkPut(put("/t1/a")),
        NuwaErrors.AUTH_OLD_REVISION);
    Access ghost = access.authenticate(token("alice"));
    assertStatus(() -> ghost.checkPut(put("/t1/a")), NuwaErrors.PERMISSION_DENIED);
    assertStatus(ghost::requireAdmin, NuwaErrors.USER_NOT_FOUND);
  }

  @Test
  void aTokenFromBeforeAChangeMustBeRenewedForKeysButNotForAdministration() {
    store.apply(enable("key"));
    String rootToken = token("root");
    String aliceToken = token("alice");
    store.apply(roleAdd("other"));
    assertStatus(() -> access.authenticate(aliceToken).checkPut(put("/t1/a")),
        NuwaErrors.AUTH_OLD_REVISION);
    assertStatus(() -> access.authenticate(rootToken).checkPut(put("/t1/a")),
        NuwaErrors.AUTH_OLD_REVISION);
    assertThatCode(() -> access.authenticate(rootToken).requireAdmin()).doesNotThrowAnyException();
    assertThatCode(() -> access.authenticate(token("alice")).checkPut(put("/t1/a")))
        .doesNotThrowAnyException();
  }
}
