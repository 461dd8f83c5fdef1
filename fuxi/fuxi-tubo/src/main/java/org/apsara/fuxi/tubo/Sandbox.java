package org.apsara.fuxi.tubo;

import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Properties;

/**
 * A worker's sandbox directory and Tubo's record of the worker in it.
 *
 * <pre>
 * &lt;sandbox root&gt;/&lt;worker id&gt;/     the worker's working directory and HOME
 *     stdout, stderr                  the worker's output
 *     .tubo/worker.properties         the spec, launch sequence, pid and its start time
 *     .tubo/launch-error              why the launch wrapper gave up, if it did
 *     .tubo/exit                      the exit cause, once the worker is gone
 * </pre>
 *
 * The record is what lets a restarted Tubo adopt its workers: the spec is not in the cgroup. It
 * is written atomically (temporary file, then rename). Not thread-safe: the supervisor touches a
 * worker's sandbox from one thread at a time.
 */
final class Sandbox {
  static final String RECORD_DIR = ".tubo";
  static final String STDOUT = "stdout";
  static final String STDERR = "stderr";

  private final Path dir;

  Sandbox(Path dir) {
    this.dir = dir;
  }

  Path dir() {
    return dir;
  }

  Path stdout() {
    return dir.resolve(STDOUT);
  }

  Path stderr() {
    return dir.resolve(STDERR);
  }

  Path launchErrorFile() {
    return dir.resolve(RECORD_DIR).resolve("launch-error");
  }

  private Path recordFile() {
    return dir.resolve(RECORD_DIR).resolve("worker.properties");
  }

  private Path exitFile() {
    return dir.resolve(RECORD_DIR).resolve("exit");
  }

  /** Makes the sandbox afresh, replacing a finished one left with the same id. */
  void recreate() throws IOException {
    deleteRecursively(dir);
    Files.createDirectories(dir.resolve(RECORD_DIR));
  }

  /** What a sandbox says about its worker. */
  record Recorded(
      WorkerSpec spec, long launchSequence, OptionalLong pid, OptionalLong pidStartMillis,
      boolean finished) {}

  void writeSpec(WorkerSpec spec, long launchSequence) throws IOException {
    Properties p = new Properties();
    p.setProperty("workerId", spec.workerId());
    p.setProperty("applicationId", spec.applicationId());
    p.setProperty("role", spec.role());
    p.setProperty("class", spec.workerClass().name());
    p.setProperty("cpuMillicores", Integer.toString(spec.cpuMillicores()));
    p.setProperty("memoryMib", Long.toString(spec.memoryMib()));
    p.setProperty("launchSequence", Long.toString(launchSequence));
    p.setProperty("command.count", Integer.toString(spec.command().size()));
    for (int i = 0; i < spec.command().size(); i++) {
      p.setProperty("command." + i, spec.command().get(i));
    }
    spec.environment().forEach((k, v) -> p.setProperty("env." + k, v));
    store(p);
  }

  /** Adds the main process's pid and start time, which tell it apart from a reused pid. */
  void writePid(long pid, OptionalLong startMillis) throws IOException {
    Properties p = load(recordFile());
    p.setProperty("pid", Long.toString(pid));
    startMillis.ifPresent(ms -> p.setProperty("pidStartMillis", Long.toString(ms)));
    store(p);
  }

  void writeExit(ExitCause cause) throws IOException {
    Path tmp = exitFile().resolveSibling("exit.tmp");
    Files.writeString(tmp, cause.toString(), StandardCharsets.UTF_8);
    Files.move(tmp, exitFile(), StandardCopyOption.REPLACE_EXISTING,
        StandardCopyOption.ATOMIC_MOVE);
  }

  Optional<String> launchError() throws IOException {
    try {
      return Optional.of(Files.readString(launchErrorFile(), StandardCharsets.UTF_8).trim());
    } catch (NoSuchFileException e) {
      return Optional.empty();
    }
  }

  /** The record, or empty if there is none or it cannot be understood. */
  Optional<Recorded> read() {
    Path file = recordFile();
    if (!Files.exists(file)) {
      return Optional.empty();
    }
    try {
      Properties p = load(file);
      int count = Integer.parseInt(p.getProperty("command.count"));
      List<String> command = new ArrayList<>();
      for (int i = 0; i < count; i++) {
        command.add(p.getProperty("command." + i));
      }
      Map<String, String> env = new LinkedHashMap<>();
      for (String key : p.stringPropertyNames()) {
        if (key.startsWith("env.")) {
          env.put(key.substring(4), p.getProperty(key));
        }
      }
      // A record without a role was written before roles were recorded.
      WorkerSpec spec = new WorkerSpec(p.getProperty("workerId"), p.getProperty("applicationId"),
          p.getProperty("role", WorkerSpec.DEFAULT_ROLE), command, env,
          WorkerClass.valueOf(p.getProperty("class")),
          Integer.parseInt(p.getProperty("cpuMillicores")),
          Long.parseLong(p.getProperty("memoryMib")));
      return Optional.of(new Recorded(spec, Long.parseLong(p.getProperty("launchSequence")),
          optionalLong(p.getProperty("pid")), optionalLong(p.getProperty("pidStartMillis")),
          Files.exists(exitFile())));
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
  }

  private static OptionalLong optionalLong(String value) {
    return value == null ? OptionalLong.empty() : OptionalLong.of(Long.parseLong(value));
  }

  private static Properties load(Path file) throws IOException {
    Properties p = new Properties();
    try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      p.load(in);
    }
    return p;
  }

  private void store(Properties p) throws IOException {
    Path tmp = recordFile().resolveSibling("worker.properties.tmp");
    try (Writer out = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
      p.store(out, "Tubo's record of a worker");
    }
    Files.move(tmp, recordFile(), StandardCopyOption.REPLACE_EXISTING,
        StandardCopyOption.ATOMIC_MOVE);
  }

  /**
   * Deletes a directory tree without following symbolic links: a worker may have left a link to
   * anywhere in its sandbox, and only the link goes.
   */
  static void deleteRecursively(Path dir) throws IOException {
    if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    Files.walkFileTree(dir, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
        Files.delete(file);
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
        if (e != null) {
          throw e;
        }
        Files.delete(d);
        return FileVisitResult.CONTINUE;
      }
    });
  }
}
