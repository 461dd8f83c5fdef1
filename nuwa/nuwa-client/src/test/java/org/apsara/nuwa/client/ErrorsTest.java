package org.apsara.nuwa.client;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import java.util.List;
import java.util.concurrent.CompletionException;
import org.apsara.nuwa.api.NuwaErrors;
import org.junit.jupiter.api.Test;

class ErrorsTest {
  @Test
  void mapsEtcdStatusesToTypedExceptionsKeepingTheServersMessage() {
    assertThat(Errors.toNuwaException(NuwaErrors.COMPACTED.asRuntimeException()))
        .isInstanceOf(CompactedException.class)
        .hasMessage("etcdserver: mvcc: required revision has been compacted");
    assertThat(Errors.toNuwaException(NuwaErrors.LEASE_NOT_FOUND.asRuntimeException()))
        .isInstanceOf(LeaseNotFoundException.class)
        .hasMessage("etcdserver: requested lease not found");
    assertThat(Errors.toNuwaException(NuwaErrors.NO_LEADER.asRuntimeException()))
        .isInstanceOf(NuwaUnavailableException.class)
        .hasMessage("etcdserver: no leader");
    assertThat(Errors.toNuwaException(Status.DEADLINE_EXCEEDED.asRuntimeException()))
        .isInstanceOf(NuwaTimeoutException.class);

    NuwaException other = Errors.toNuwaException(NuwaErrors.FUTURE_REVISION.asRuntimeException());
    assertThat(other)
        .isExactlyInstanceOf(NuwaException.class)
        .hasMessage("etcdserver: mvcc: required revision is a future revision");
    assertThat(other.code()).isEqualTo(Status.Code.OUT_OF_RANGE);
  }

  @Test
  void unwrapsFutureWrappersAndPassesNuwaExceptionsThrough() {
    NuwaException original = new NuwaException(Status.Code.ABORTED, "x");
    assertThat(Errors.toNuwaException(new CompletionException(original))).isSameAs(original);
    assertThat(
            Errors.toNuwaException(
                new CompletionException(NuwaErrors.LEASE_NOT_FOUND.asException())))
        .isInstanceOf(LeaseNotFoundException.class);
  }

  @Test
  void onlyRejectionsMadeBeforeProposingProveAWriteWasNotApplied() {
    assertThat(Errors.provenNotApplied(NuwaErrors.NO_LEADER)).isTrue();
    assertThat(Errors.provenNotApplied(NuwaErrors.NOT_LEADER)).isTrue();
    assertThat(Errors.provenNotApplied(NuwaErrors.NOT_CAPABLE)).isTrue();
    assertThat(Errors.provenNotApplied(NuwaErrors.LEADER_CHANGED)).isFalse();
    assertThat(Errors.provenNotApplied(NuwaErrors.TIMEOUT)).isFalse();
    assertThat(Errors.provenNotApplied(Status.UNAVAILABLE)).isFalse();
  }

  @Test
  void authenticationErrorsAreTypedAndPermissionDeniedIsNot() {
    for (Status status :
        List.of(NuwaErrors.INVALID_AUTH_TOKEN, NuwaErrors.AUTH_OLD_REVISION, NuwaErrors.USER_EMPTY,
            NuwaErrors.AUTH_FAILED)) {
      assertThat(Errors.toNuwaException(status.asRuntimeException()))
          .isInstanceOf(NuwaAuthenticationException.class)
          .hasMessage(status.getDescription());
    }
    NuwaException denied = Errors.toNuwaException(NuwaErrors.PERMISSION_DENIED.asRuntimeException());
    assertThat(denied).isExactlyInstanceOf(NuwaException.class);
    assertThat(denied.code()).isEqualTo(Status.Code.PERMISSION_DENIED);
  }

  @Test
  void onlyTokenErrorsCallForAnotherAuthentication() {
    assertThat(Errors.isStaleToken(NuwaErrors.INVALID_AUTH_TOKEN)).isTrue();
    assertThat(Errors.isStaleToken(NuwaErrors.AUTH_OLD_REVISION)).isTrue();
    assertThat(Errors.isStaleToken(NuwaErrors.USER_EMPTY)).isTrue();
    assertThat(Errors.isStaleToken(NuwaErrors.AUTH_FAILED)).isFalse();
    assertThat(Errors.isStaleToken(NuwaErrors.PERMISSION_DENIED)).isFalse();
    assertThat(Errors.isStaleToken(Status.UNAUTHENTICATED)).isFalse();
  }

  @Test
  void watchCancelReasonsAreReadAsEtcdWritesThem() {
    // etcd writes the Go text of the status; Nuwa may write the description alone.
    assertThat(
            Errors.watchCancelStatus(
                "rpc error: code = PermissionDenied desc = etcdserver: permission denied"))
        .isSameAs(NuwaErrors.PERMISSION_DENIED);
    assertThat(Errors.watchCancelStatus("etcdserver: invalid auth token"))
        .isSameAs(NuwaErrors.INVALID_AUTH_TOKEN);
    Status other = Errors.watchCancelStatus("something else");
    assertThat(other.getCode()).isEqualTo(Status.Code.CANCELLED);
    assertThat(other.getDescription()).isEqualTo("something else");
    assertThat(Errors.watchCancelStatus("").getDescription())
        .isEqualTo("the server cancelled the watch");
  }
}
