package org.apsara.bench.report;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;

/**
 * The machine a benchmark ran on, as printed in the report's header: cores, CPU model, memory,
 * JVM, operating system, and the file system holding the members' data directories.
 */
public record MachineInfo(
    int cores,
    String cpuModel,
    long memoryBytes,
    String jvm,
    String operatingSystem,
    String dataFileSystem) {

  /** Describes this machine; {@code dataDirectory} is where the clusters keep their data. */
  public static MachineInfo describe(Path dataDirectory) {
    return new MachineInfo(
        Runtime.getRuntime().availableProcessors(),
        readCpuModel().orElse("unknown CPU"),
        physicalMemoryBytes(),
        System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"),
        System.getProperty("os.name")
            + " "
            + System.getProperty("os.version")
            + " "
            + System.getProperty("os.arch"),
        fileSystem(dataDirectory));
  }

  /** One Markdown line. */
  public String toMarkdown() {
    return String.format(
        Locale.ROOT,
        "%d cores (%s), %.1f GiB memory, %s, %s; data directories on %s",
        cores,
        cpuModel,
        memoryBytes / (1024.0 * 1024 * 1024),
        jvm,
        operatingSystem,
        dataFileSystem);
  }

  private static long physicalMemoryBytes() {
    OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
    if (os instanceof com.sun.management.OperatingSystemMXBean sun) {
      return sun.getTotalMemorySize();
    }
    return Runtime.getRuntime().maxMemory();
  }

  /** The CPU model from the Linux CPU description, where there is one. */
  private static Optional<String> readCpuModel() {
    Path cpuInfo = Path.of("/proc/cpuinfo");
    if (!Files.isReadable(cpuInfo)) {
      return Optional.empty();
    }
    try (var lines = Files.lines(cpuInfo, StandardCharsets.UTF_8)) {
      return lines
          .filter(line -> line.startsWith("model name"))
          .map(line -> line.substring(line.indexOf(':') + 1).trim())
          .findFirst();
    } catch (IOException | java.io.UncheckedIOException e) {
      return Optional.empty();
    }
  }

  private static String fileSystem(Path directory) {
    try {
      Files.createDirectories(directory);
      FileStore store = Files.getFileStore(directory);
      String type = store.type();
      String warning =
          type.equals("tmpfs") || type.equals("ramfs")
              ? " (memory-backed: fsync costs nothing here)"
              : "";
      return type + " (" + store.name() + ")" + warning;
    } catch (IOException e) {
      return "unknown file system (" + e.getMessage() + ")";
    }
  }
}
