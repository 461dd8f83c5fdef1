package org.apsara.nuwa.client.testing;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs one {@code etcdctl} command against a test server and waits for it, for setting a server up
 * the way an operator would (users, roles, {@code auth enable}). Only a test helper: it only ever
 * targets the loopback endpoints it is given.
 */
public final class Etcdctl {
  /** How long one command may take; they are all quick, bcrypt included at a low cost. */
  private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(20);

  private final Path binary;
  private final String endpoint;
  private final List<String> globalFlags;

  private Etcdctl(Path binary, String endpoint, List<String> globalFlags) {
    this.binary = binary;
    this.endpoint = endpoint;
    this.globalFlags = List.copyOf(globalFlags);
  }

  /** etcdctl against {@code endpoint}; skips the calling test if etcdctl is not installed. */
  public static Etcdctl at(String endpoint) {
    assumeInstalled();
    return new Etcdctl(CommandLine.find("etcdctl").orElseThrow(), endpoint, List.of());
  }

  /** Skips the calling test unless etcdctl is installed. */
  public static void assumeInstalled() {
    assumeTrue(
        CommandLine.find("etcdctl").isPresent(),
        "etcdctl is not installed; skipping tests that need it");
  }

  /** The same, authenticated as {@code user} ({@code --user user:password}). */
  public Etcdctl as(String user, String password) {
    return new Etcdctl(binary, endpoint, List.of("--user=" + user + ":" + password));
  }

  /** Runs {@code etcdctl args...}, returning its output; throws if it fails. */
  public String run(String... args) {
    return runWithInput(null, args);
  }

  /** Runs {@code etcdctl args...} with {@code input} on its standard input. */
  public String runWithInput(String input, String... args) {
    List<String> command = new ArrayList<>();
    command.add(binary.toString());
    command.add("--endpoints=" + endpoint);
    command.addAll(globalFlags);
    command.addAll(List.of(args));
    try {
      Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
      try (OutputStream stdin = process.getOutputStream()) {
        if (input != null) {
          stdin.write(input.getBytes(StandardCharsets.UTF_8));
        }
      }
      if (!process.waitFor(COMMAND_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly();
        throw new IllegalStateException("etcdctl " + String.join(" ", args) + " timed out");
      }
      String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (process.exitValue() != 0) {
        throw new IllegalStateException(
            "etcdctl " + String.join(" ", args) + " failed: " + output.strip());
      }
      return output;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }
}
