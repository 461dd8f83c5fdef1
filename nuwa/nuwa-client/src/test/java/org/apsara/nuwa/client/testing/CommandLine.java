package org.apsara.nuwa.client.testing;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** A command-line tool run as a child process, whose output lines a test reads as they come. */
public final class CommandLine implements AutoCloseable {
  private final Process process;
  private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();

  private CommandLine(Process process) {
    this.process = process;
    Thread reader =
        new Thread(
            () -> {
              try (BufferedReader in =
                  new BufferedReader(
                      new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = in.readLine()) != null) {
                  lines.add(line);
                }
              } catch (IOException e) {
                // The process went away; the lines read so far stay.
              }
            },
            "read-" + process.pid());
    reader.setDaemon(true);
    reader.start();
  }

  /** The executable {@code name} on the PATH, if there is one. */
  public static Optional<Path> find(String name) {
    String path = System.getenv("PATH");
    if (path == null) {
      return Optional.empty();
    }
    for (String dir : path.split(File.pathSeparator)) {
      Path candidate = Path.of(dir, name);
      if (Files.isExecutable(candidate)) {
        return Optional.of(candidate);
      }
    }
    return Optional.empty();
  }

  public static CommandLine start(List<String> command) {
    try {
      return new CommandLine(
          new ProcessBuilder(new ArrayList<>(command)).redirectErrorStream(true).start());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The next output line, or empty if none came within {@code timeout}. */
  public Optional<String> nextLine(Duration timeout) throws InterruptedException {
    return Optional.ofNullable(lines.poll(timeout.toNanos(), TimeUnit.NANOSECONDS));
  }

  /** Asks the process to stop (SIGTERM), as Ctrl-C would, and waits for it. */
  public void terminate() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(10, TimeUnit.SECONDS)) {
      process.destroyForcibly();
    }
  }

  @Override
  public void close() {
    process.destroyForcibly();
  }
}
