package org.apsara.nuwa.client;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
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
}
