package org.apsara.fuxi.tubo.cgroup;

import java.io.IOException;
import java.nio.channels.ClosedByInterruptException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * A directory laid out like a cgroup v2 file system, for file-level tests of {@link
 * V2CgroupDriver}: making a group makes its control files, {@code cgroup.subtree_control} takes
 * "+controller" tokens, {@code cgroup.kill} empties the group, {@code cgroup.procs} lists only
 * pids that still run, and removing a group with processes fails as rmdir(2) does. Every write
 * is recorded; a write can be held, so that a test acts while a driver is between two steps. A
 * thread with its interrupt set cannot write, as with interruptible file I/O.
 */
final class FakeCgroupFs extends CgroupFiles {
  /** How long a held write waits for its release at most, so that a failed test ends. */
  private static final long HOLD_MAX_SECONDS = 30;

  final Path root;
  final List<String> writes = new ArrayList<>();
  private final boolean withKill;
  private final boolean withSwap;
  private String failingFile;
  private volatile Hold hold;

  /** A write to hold once done: {@code reached} opens, the writer waits for {@code release}. */
  private record Hold(String fileName, String value, CountDownLatch reached,
      CountDownLatch release) {}

  FakeCgroupFs(Path root, String rootControllers, boolean withKill, boolean withSwap)
      throws IOException {
    this.root = root;
    this.withKill = withKill;
    this.withSwap = withSwap;
    Files.writeString(root.resolve("cgroup.controllers"), rootControllers);
    Files.writeString(root.resolve("cgroup.subtree_control"), "");
    Files.writeString(root.resolve("cgroup.procs"), "1\n");
  }

  /** Writes to files of this name fail from now on. */
  void failWritesTo(String fileName) {
    failingFile = fileName;
  }

  /**
   * The next write of {@code value} to a file of this name, once done, opens {@code reached} and
   * waits until {@code release} opens.
   */
  void holdAfterWriting(String fileName, String value, CountDownLatch reached,
      CountDownLatch release) {
    hold = new Hold(fileName, value, reached, release);
  }

  @Override
  void mkdir(Path dir) throws IOException {
    Files.createDirectory(dir);
    String inherited = Files.readString(dir.getParent().resolve("cgroup.subtree_control"));
    create(dir, "cgroup.controllers", inherited);
    create(dir, "cgroup.subtree_control", "");
    create(dir, "cgroup.procs", "");
    create(dir, "cgroup.freeze", "0");
    create(dir, "cpu.max", "max 100000\n");
    create(dir, "cpu.weight", "100\n");
    create(dir, "cpu.stat", "usage_usec 0\nuser_usec 0\nsystem_usec 0\nnr_periods 0\n"
        + "nr_throttled 0\nthrottled_usec 0\n");
    create(dir, "memory.max", "max\n");
    create(dir, "memory.current", "0\n");
    create(dir, "memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n");
    create(dir, "memory.oom.group", "0\n");
    if (withSwap) {
      create(dir, "memory.swap.max", "max\n");
    }
    if (withKill) {
      create(dir, "cgroup.kill", "");
    }
  }

  private static void create(Path dir, String name, String content) throws IOException {
    Files.writeString(dir.resolve(name), content);
  }

  @Override
  void rmdir(Path dir) throws IOException {
    if (!read(dir.resolve("cgroup.procs")).isBlank()) {
      throw new IOException("Device or resource busy: " + dir);
    }
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
      for (Path entry : entries) {
        if (Files.isDirectory(entry)) {
          throw new IOException("Device or resource busy: " + dir + " has child " + entry);
        }
        Files.delete(entry);
      }
    }
    Files.delete(dir);
  }

  @Override
  String read(Path file) throws IOException {
    String content = Files.readString(file);
    if (file.getFileName().toString().equals("cgroup.procs")) {
      // A killed process leaves its group: list only the pids that still run.
      return content.lines()
          .filter(pid -> ProcessHandle.of(Long.parseLong(pid.trim()))
              .filter(ProcessHandle::isAlive).isPresent())
          .map(pid -> pid + "\n")
          .collect(Collectors.joining());
    }
    return content;
  }

  @Override
  void write(Path file, String value) throws IOException {
    if (Thread.currentThread().isInterrupted()) {
      throw new ClosedByInterruptException();
    }
    String name = file.getFileName().toString();
    if (name.equals(failingFile)) {
      throw new IOException("Invalid argument: " + file);
    }
    if (!Files.exists(file)) {
      throw new IOException("No such file: " + file);
    }
    writes.add(root.relativize(file) + "=" + value);
    switch (name) {
      case "cgroup.subtree_control" -> {
        Set<String> enabled = new LinkedHashSet<>(
            List.of(Files.readString(file).trim().split("\\s+")));
        enabled.remove("");
        for (String token : value.trim().split("\\s+")) {
          if (token.startsWith("+")) {
            enabled.add(token.substring(1));
          } else if (token.startsWith("-")) {
            enabled.remove(token.substring(1));
          }
        }
        Files.writeString(file, String.join(" ", enabled));
      }
      case "cgroup.kill" -> {
        for (String pid : Files.readString(file.resolveSibling("cgroup.procs")).split("\n")) {
          if (!pid.isBlank()) {
            ProcessHandle.of(Long.parseLong(pid.trim())).ifPresent(ProcessHandle::destroyForcibly);
          }
        }
      }
      default -> Files.writeString(file, value);
    }
    Hold held = hold;
    if (held != null && held.fileName().equals(name) && held.value().equals(value)) {
      hold = null;
      held.reached().countDown();
      try {
        if (!held.release().await(HOLD_MAX_SECONDS, TimeUnit.SECONDS)) {
          throw new IOException("held write to " + file + " never released");
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted while held", e);
      }
    }
  }

  /** Writes as the kernel would, without recording it. */
  void kernelWrites(Path file, String value) throws IOException {
    Files.writeString(file, value);
  }

  List<String> writesTo(String fileName) {
    return writes.stream().filter(w -> w.contains("/" + fileName + "=")
        || w.startsWith(fileName + "=")).toList();
  }
}
