package org.apsara.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import org.junit.jupiter.api.Test;

/** What {@code apsara} prints for a failed command: the message that says what went wrong. */
class ErrorMessageTest {
  @Test
  void wrappersThatOnlyRepeatTheirCauseAreSkipped() {
    IOException cause = new IOException("segment X is damaged at byte 7");
    // new IOException(cause) takes cause.toString() as its message, class name and all.
    assertThat(Apsara.messageOf(new IllegalStateException(new IOException(cause))))
        .isEqualTo("segment X is damaged at byte 7");
    assertThat(Apsara.messageOf(new UncheckedIOException(cause)))
        .isEqualTo("segment X is damaged at byte 7");
  }

  @Test
  void aWrapperWithAMessageOfItsOwnIsKept() {
    assertThat(Apsara.messageOf(new IllegalStateException("Failed to start",
        new IOException("disk full")))).isEqualTo("Failed to start");
  }

  @Test
  void aMissingOrForbiddenLocalFileIsSaidSo() {
    assertThat(Apsara.messageOf(new NoSuchFileException("/tmp/nope")))
        .isEqualTo("/tmp/nope: no such file or directory");
    assertThat(Apsara.messageOf(new AccessDeniedException("/root/secret")))
        .isEqualTo("/root/secret: permission denied");
  }

  @Test
  void aCallWithoutAUserToAnAuthenticatingNuwaSaysHowToGiveOne() {
    assertThat(Apsara.messageOf(new StatusRuntimeException(Status.INVALID_ARGUMENT
        .withDescription("etcdserver: user name is empty"))))
        .startsWith("INVALID_ARGUMENT: etcdserver: user name is empty\n")
        .contains("--user NAME:PASSWORD");
  }
}
