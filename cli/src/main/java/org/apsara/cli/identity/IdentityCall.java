package org.apsara.cli.identity;

import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * A command that makes calls to the identity service: opens a session with the shared {@link
 * IdentityConnection} options, runs {@link #call(IdentityConnection.Session, PrintWriter)}, and
 * turns a failed call into an {@link IdentityCommandException} with one clear line.
 *
 * <p>Output goes to the command line's writers ({@code getOut()}, {@code getErr()}), not to {@code
 * System.out}, so that whoever runs the command in-process can capture it.
 */
abstract class IdentityCall implements Callable<Integer> {
  @Mixin IdentityConnection connection;

  @Spec CommandSpec spec;

  @Override
  public final Integer call() throws IOException {
    checkArguments();
    PrintWriter out = spec.commandLine().getOut();
    try (IdentityConnection.Session session = connection.open()) {
      try {
        return call(session, out);
      } catch (StatusRuntimeException e) {
        throw new IdentityCommandException(IdentityErrors.describe(e, session), e);
      }
    } finally {
      out.flush();
    }
  }

  /** Checks what can be checked before connecting, such as a file to read; by default nothing. */
  void checkArguments() throws IOException {}

  /** Makes the command's calls and prints the answer; returns the exit code. */
  abstract int call(IdentityConnection.Session session, PrintWriter out) throws IOException;

  /** Where notes for the person go (warnings, hints), apart from the answer. */
  PrintWriter err() {
    return spec.commandLine().getErr();
  }
}
