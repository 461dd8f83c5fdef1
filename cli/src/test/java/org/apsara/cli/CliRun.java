package org.apsara.cli;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;

/** Runs the {@code apsara} command line in this JVM, capturing what it prints. Tests only. */
final class CliRun {
  /** What one command printed, and its exit code. */
  record Result(int exitCode, String out, String err) {}

  private CliRun() {}

  /** Runs {@code apsara ARGS}; not thread-safe (it swaps System.out and System.err). */
  static Result apsara(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    PrintStream oldOut = System.out;
    PrintStream oldErr = System.err;
    System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    int code;
    try {
      picocli.CommandLine commandLine = Apsara.commandLine();
      commandLine.setErr(new PrintWriter(System.err, true));
      code = commandLine.execute(args);
    } finally {
      System.setOut(oldOut);
      System.setErr(oldErr);
    }
    return new Result(code, out.toString(StandardCharsets.UTF_8),
        err.toString(StandardCharsets.UTF_8));
  }
}
