package org.apsara.nuwa.server;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Runs etcd's own etcdctl (v3 API) against given endpoints, for tests. */
final class EtcdctlRunner {
  static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(30);

  private EtcdctlRunner() {}

  /** Whether etcdctl (Debian package etcd-client) is installed. */
  static boolean installed() {
    try {
      return new ProcessBuilder("etcdctl", "version").start().waitFor(10, TimeUnit.SECONDS);
    } catch (IOException | InterruptedException e) {
      return false;
    }
  }

  /**
   * What one run printed and its exit code. etcdctl logs retries on stderr, so the answer a test
   * checks is stdout; errors ("Error: ...") are on stderr.
   */
  record Result(int exit, String output, String errors) {
    boolean ok() {
      return exit == 0;
    }

    String all() {
      return output + "\n" + errors;
    }
  }

  /** Runs etcdctl to completion, feeding it {@code input} (may be null) on stdin. */
  static Result run(String endpoints, String input, List<String> args) throws Exception {
    Process process = builder(endpoints, args).start();
    // Read both pipes while it runs, so that neither can fill up and stall etcdctl.
    CompletableFuture<String> output = readAll(process.getInputStream());
    CompletableFuture<String> errors = readAll(process.getErrorStream());
    if (input != null) {
      process.getOutputStream().write(input.getBytes(StandardCharsets.UTF_8));
    }
    process.getOutputStream().close();
    if (!process.waitFor(COMMAND_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor();
      throw new AssertionError("etcdctl " + args + " did not finish in " + COMMAND_TIMEOUT);
    }
    return new Result(process.exitValue(),
        output.get(COMMAND_TIMEOUT.toSeconds(), TimeUnit.SECONDS).strip(),
        errors.get(COMMAND_TIMEOUT.toSeconds(), TimeUnit.SECONDS).strip());
  }

  private static CompletableFuture<String> readAll(InputStream in) {
    return CompletableFuture.supplyAsync(() -> {
      try {
        return new String(in.readAllBytes(), StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }, task -> {
      // A thread of its own: a pool's worker would be held until etcdctl exits.
      Thread reader = new Thread(task, "etcdctl-output");
      reader.setDaemon(true);
      reader.start();
    });
  }

  /** Starts a long-running etcdctl (a watch, say) whose output goes to {@code out}. */
  static Process start(String endpoints, Path out, List<String> args) throws IOException {
    return builder(endpoints, args).redirectErrorStream(true).redirectOutput(out.toFile()).start();
  }

  private static ProcessBuilder builder(String endpoints, List<String> args) {
    List<String> command = new ArrayList<>(List.of("etcdctl", "--endpoints=" + endpoints,
        "--dial-timeout=5s", "--command-timeout=15s"));
    command.addAll(args);
    ProcessBuilder builder = new ProcessBuilder(command);
    builder.environment().put("ETCDCTL_API", "3");
    return builder;
  }
}
