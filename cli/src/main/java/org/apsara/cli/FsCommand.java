package org.apsara.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.apsara.common.config.ByteSizes;
import org.apsara.common.net.HostPort;
import org.apsara.pangu.api.v1.ChunkHealth;
import org.apsara.pangu.api.v1.ChunkServerReport;
import org.apsara.pangu.api.v1.ContentSummary;
import org.apsara.pangu.api.v1.FileStatus;
import org.apsara.pangu.api.v1.GetClusterReportResponse;
import org.apsara.pangu.api.v1.VolumeReport;
import org.apsara.pangu.client.CreateOptions;
import org.apsara.pangu.client.DirectoryListing;
import org.apsara.pangu.client.PanguClient;
import org.apsara.pangu.client.PanguClientConfig;
import org.apsara.pangu.client.PanguInputStream;
import org.apsara.pangu.client.PanguOutputStream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code apsara fs ...}: the Pangu file system from the shell, in the manner of hdfs dfs. */
@Command(
    name = "fs",
    mixinStandardHelpOptions = true,
    description = "Use Pangu, the distributed file system: list, copy in and out, move, remove, "
        + "check.",
    subcommands = {
      FsCommand.Ls.class,
      FsCommand.Mkdir.class,
      FsCommand.Put.class,
      FsCommand.Get.class,
      FsCommand.Cat.class,
      FsCommand.Rm.class,
      FsCommand.Mv.class,
      FsCommand.Stat.class,
      FsCommand.Du.class,
      FsCommand.Fsck.class,
      FsCommand.Decommission.class
    })
final class FsCommand implements Runnable {
  /** Copies move data in blocks of this size; a chunkserver packet holds 1 MiB. */
  static final int COPY_BUFFER_BYTES = 1 << 20;
  /** Below this size a copy shows no progress bar. */
  static final long PROGRESS_MIN_BYTES = 8L << 20;

  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }

  /** Where the Pangu master is. A picocli mixin every subcommand shares. */
  static final class Connection {
    @Option(names = "--masters", split = ",", paramLabel = "HOST:PORT",
        defaultValue = "${env:APSARA_PANGU_MASTERS:-127.0.0.1:7000}",
        description = "Pangu master members, comma-separated (default: ${DEFAULT-VALUE}; "
            + "or set APSARA_PANGU_MASTERS).")
    List<String> masters;

    @Option(names = "--timeout", defaultValue = "20s", converter = DurationConverter.class,
        description = "How long one operation may keep retrying while no master answers as "
            + "leader (default: ${DEFAULT-VALUE}).")
    Duration timeout;

    @Option(names = "--cacert", paramLabel = "FILE", defaultValue = "${env:APSARA_PANGU_CACERT}",
        description = "Talk TLS, verifying the master and chunkservers against these PEM CA "
            + "certificates (or set APSARA_PANGU_CACERT).")
    Path cacert;

    @Option(names = "--cert", paramLabel = "FILE", defaultValue = "${env:APSARA_PANGU_CERT}",
        description = "PEM client certificate to present (or set APSARA_PANGU_CERT).")
    Path cert;

    @Option(names = "--key", paramLabel = "FILE", defaultValue = "${env:APSARA_PANGU_KEY}",
        description = "PEM private key of --cert (or set APSARA_PANGU_KEY).")
    Path key;

    @Mixin SigningProfile signing;

    PanguClient open() throws IOException {
      LogSetup.forClient();
      PanguClientConfig.Builder config = PanguClientConfig.builder(
          masters.stream().map(HostPort::parse).toList()).operationTimeout(timeout);
      ClientTlsFlags.context(cacert, cert, key).ifPresent(config::tls);
      signing.resolve().ifPresent(p -> config.credentials(p.credentials(), p.region()));
      return PanguClient.connect(config.build());
    }
  }

  @Command(name = "ls", mixinStandardHelpOptions = true,
      description = "List a directory (or show one file): mode, replication, owner, group, "
          + "size, modification time (UTC), name.")
  static final class Ls implements Callable<Integer> {
    @Mixin Connection connection;

    @Parameters(defaultValue = "/", paramLabel = "PATH", description = "Default: /.")
    String path;

    @Override
    public Integer call() throws IOException {
      try (PanguClient client = connection.open()) {
        FileStatus status = client.getStatus(path);
        if (!status.getDirectory()) {
          System.out.println(line(status));
          return 0;
        }
        DirectoryListing listing = client.list(path);
        while (listing.hasNext()) {
          System.out.println(line(listing.next()));
        }
      }
      return 0;
    }

    static String line(FileStatus status) {
      return String.format(Locale.ROOT, "%s%s %3s %-10s %-10s %14d %s %s%s",
          status.getDirectory() ? "d" : "-", permissions(status.getMode()),
          status.getDirectory() ? "-" : Integer.toString(status.getReplication()),
          status.getOwner(), status.getGroup(), status.getLength(), time(status.getMtimeMs()),
          status.getPath(), status.getOpen() ? "  (open for writing)" : "");
    }
  }

  @Command(name = "mkdir", mixinStandardHelpOptions = true,
      description = "Create directories and their missing parents (no error if they exist).")
  static final class Mkdir implements Callable<Integer> {
    @Mixin Connection connection;

    @Parameters(arity = "1..*", paramLabel = "PATH")
    List<String> paths;

    @Override
    public Integer call() throws IOException {
      try (PanguClient client = connection.open()) {
        for (String path : paths) {
          client.mkdirs(path);
        }
      }
      return 0;
    }
  }

  @Command(name = "put", mixinStandardHelpOptions = true,
      description = {"Copy a local file (or standard input, '-') into Pangu.",
          "The copy is complete, synced on every replica, when the command returns."})
  static final class Put implements Callable<Integer> {
    @Mixin Connection connection;

    @Parameters(index = "0", paramLabel = "LOCAL", description = "Local file, or - for stdin.")
    String local;

    @Parameters(index = "1", paramLabel = "PATH", description = "Destination file in Pangu.")
    String path;

    @Option(names = {"-f", "--overwrite"}, description = "Replace an existing file.")
    boolean overwrite;

    @Option(names = "--replication", defaultValue = "0",
        description = "Replicas of each chunk; 0 for the master's default (3).")
    int replication;

    @Override
    public Integer call() throws IOException {
      CreateOptions options = CreateOptions.DEFAULTS.withOverwrite(overwrite)
          .withReplication(replication);
      try (PanguClient client = connection.open();
          InputStream in = "-".equals(local) ? System.in : Files.newInputStream(Path.of(local));
          PanguOutputStream out = client.create(path, options)) {
        long total = "-".equals(local) ? -1 : Files.size(Path.of(local));
        copy(in, out, total, "put " + path);
      }
      return 0;
    }
  }

  @Command(name = "get", mixinStandardHelpOptions = true,
      description = "Copy a Pangu file to a local file (written whole, then moved into place).")
  static final class Get implements Callable<Integer> {
    @Mixin Connection connection;

    @Parameters(index = "0", paramLabel = "PATH", description = "File in Pangu.")
    String path;

    @Parameters(index = "1", paramLabel = "LOCAL",
        description = "Local file, or a directory to copy the file into under its own name.")
    Path local;

    @Option(names = {"-f", "--overwrite"}, description = "Replace an existing local file.")
    boolean overwrite;

    @Override
    public Integer call() throws IOException {
      Path target = Files.isDirectory(local)
          ? local.resolve(path.substring(path.lastIndexOf('/') + 1)) : local;
      // Checked before the copy, which would be wasted, and not only by the move at the end.
      if (!overwrite && Files.exists(target)) {
        throw new FileAlreadyExistsException(target + " already exists (-f replaces it)");
      }
      Path partial = target.resolveSibling(target.getFileName() + ".partial");
      try (PanguClient client = connection.open();
          PanguInputStream in = client.open(path);
          OutputStream out = Files.newOutputStream(partial)) {
        copy(in, out, in.length(), "get " + path);
      } catch (IOException | RuntimeException e) {
        Files.deleteIfExists(partial);
        throw e;
      }
      Files.move(partial, target, StandardCopyOption.REPLACE_EXISTING,
          StandardCopyOption.ATOMIC_MOVE);
      return 0;
    }
  }

  @Command(name = "cat", mixinStandardHelpOptions = true,
      description = "Write Pangu files to standard output.")
  static final class Cat implements Callable<Integer> {
    @Mixin Connection connection;

    @Parameters(arity = "1..*", paramLabel = "PATH")
    List<String> paths;

    @Override
    public Integer call() throws IOException {
      try (PanguClient client = connection.open()) {
        for (String path : paths) {
          try (PanguInputStream in = client.open(path)) {
            in.transferTo(System.out);
          }
        }
      }
      System.out.flush();
      return 0;
    }
  }

  @Command(name = "rm", mixinStandardHelpOptions = true,
      description = "Remove files, or directories with -r.")
  static final class Rm implements Callable<Integer> {
    @Mixin Connection connection;

    @Option(names = {"-r", "--recursive"}, description = "Remove directories and their contents.")
    boolean recursive;

    @Option(names = {"-f", "--force"}, description = "No error for a path that does not exist.")
    boolean force;

    @Parameters(arity = "1..*", paramLabel = "PATH")
    List<String> paths;

    @Override
    public Integer call() throws IOException {
      int status = 0;
      try (PanguClient client = connection.open()) {
        for (String path : paths) {
          if (!client.delete(path, recursive) && !force) {
            System.err.println("apsara: " + path + ": no such file or directory");
            status = 1;
          }
        }
      }
      return status;
    }
  }

  @Command(name = "mv", mixinStandardHelpOptions = true,
      description = "Move (rename) a file or directory atomically; the destination must not "
          + "exist.")
  static final class Mv implements Callable<Integer> {
    @Mixin Connection connection;

    @Parameters(index = "0", paramLabel = "SOURCE")
    String source;

    @Parameters(index = "1", paramLabel = "DESTINATION")
    String destination;

    @Override
    public Integer call() throws IOException {
      try (PanguClient client = connection.open()) {
        client.rename(source, destination);
      }
      return 0;
    }
  }

  @Command(name = "stat", mixinStandardHelpOptions = true,
      description = "Show every attribute of a file or directory.")
  static final class Stat implements Callable<Integer> {
    @Mixin Connection connection;

    @Parameters(paramLabel = "PATH")
    String path;

    @Override
    public Integer call() throws IOException {
      try (PanguClient client = connection.open()) {
        FileStatus s = client.getStatus(path);
        PrintStream out = System.out;
        out.println("path         " + s.getPath());
        out.println("type         " + (s.getDirectory() ? "directory" : "file"));
        out.println("inode        " + s.getInodeId());
        out.println("mode         " + permissions(s.getMode())
            + String.format(Locale.ROOT, " (%04o)", s.getMode()));
        out.println("owner:group  " + s.getOwner() + ":" + s.getGroup());
        out.println("modified     " + time(s.getMtimeMs()));
        out.println("accessed     " + time(s.getAtimeMs()));
        if (s.getDirectory()) {
          out.println("name quota   " + quota(s.getNameQuota()));
          out.println("space quota  " + quota(s.getSpaceQuota()));
        } else {
          out.println("length       " + s.getLength() + " bytes (" + ByteSizes.format(s.getLength()) + ")");
          out.println("replication  " + s.getReplication());
          out.println("chunk size   " + ByteSizes.format(s.getChunkSize()));
          out.println("chunks       " + s.getChunkCount());
          out.println("open         " + (s.getOpen() ? "yes, by " + s.getLeaseHolder() : "no"));
        }
      }
      return 0;
    }
  }

  @Command(name = "du", mixinStandardHelpOptions = true,
      description = "Files, directories, bytes and space (bytes times replication) under a path, "
          + "from the master's exact counters.")
  static final class Du implements Callable<Integer> {
    @Mixin Connection connection;

    @Parameters(defaultValue = "/", paramLabel = "PATH", description = "Default: /.")
    String path;

    @Override
    public Integer call() throws IOException {
      try (PanguClient client = connection.open()) {
        ContentSummary summary = client.contentSummary(path);
        System.out.printf(Locale.ROOT,
            "%s: %d files, %d directories, %d bytes (%s), %s with replicas%n", path,
            summary.getFiles(), summary.getDirectories(), summary.getLength(),
            ByteSizes.format(summary.getLength()), ByteSizes.format(summary.getSpaceConsumed()));
        if (summary.getNameQuota() >= 0 || summary.getSpaceQuota() >= 0) {
          System.out.println("quotas: names " + quota(summary.getNameQuota()) + ", space "
              + quota(summary.getSpaceQuota()));
        }
      }
      return 0;
    }
  }

  @Command(name = "fsck", mixinStandardHelpOptions = true,
      description = {"Check the file system's health: chunkservers, and chunks that are",
          "under-replicated, missing or corrupt. Exits 1 if any chunk is missing."})
  static final class Fsck implements Callable<Integer> {
    @Mixin Connection connection;

    @Option(names = "--limit", defaultValue = "1000",
        description = "List at most this many unhealthy chunks (default: ${DEFAULT-VALUE}).")
    int limit;

    @Override
    public Integer call() throws IOException {
      GetClusterReportResponse report;
      try (PanguClient client = connection.open()) {
        report = client.clusterReport(limit);
      }
      PrintStream out = System.out;
      out.println("chunkservers:");
      for (ChunkServerReport cs : report.getChunkserversList()) {
        out.printf(Locale.ROOT, "  %s %s %s, %s used of %s, %d replicas%s%s%n",
            cs.getLocation().getId(), cs.getLocation().getAddress(),
            cs.getAlive() ? "alive" : "DEAD", ByteSizes.format(cs.getUsedBytes()),
            ByteSizes.format(cs.getCapacityBytes()), cs.getReplicas(),
            cs.getLocation().getRack().isEmpty() ? "" : ", rack " + cs.getLocation().getRack(),
            adminState(cs));
        for (VolumeReport volume : cs.getFailedVolumesList()) {
          out.printf(Locale.ROOT, "    volume %s FAILED: %s%n", volume.getDirectory(),
              volume.getFailure());
        }
      }
      out.println("under-replicated chunks  " + report.getUnderReplicatedChunks());
      out.println("missing chunks           " + report.getMissingChunks());
      out.println("corrupt replicas         " + report.getCorruptReplicas());
      out.println("garbage chunks           " + report.getGarbageChunks());
      for (ChunkHealth chunk : report.getUnhealthyChunksList()) {
        out.printf(Locale.ROOT, "  chunk %s %s: %d of %d replicas healthy, %d corrupt%n",
            Long.toUnsignedString(chunk.getChunkId()),
            chunk.getPath().isEmpty() ? "(no file)" : chunk.getPath(),
            chunk.getHealthyReplicas(), chunk.getWantedReplicas(), chunk.getCorruptReplicas());
      }
      boolean healthy = report.getMissingChunks() == 0;
      out.println(healthy
          ? (report.getUnderReplicatedChunks() == 0 ? "HEALTHY" : "HEALTHY (repairing)")
          : "CORRUPT: some chunks have no healthy replica");
      return healthy ? 0 : 1;
    }
  }

  @Command(name = "decommission", mixinStandardHelpOptions = true,
      description = {"Take a chunkserver out of service: it takes no new replicas, and its",
          "chunks are copied to the others. Returns once the chunkserver has recorded it;",
          "fsck then shows the chunks still to move, and DECOMMISSIONED when it may be",
          "stopped."})
  static final class Decommission implements Callable<Integer> {
    @Mixin Connection connection;

    @Parameters(paramLabel = "ID", description = "The chunkserver's id, as fsck lists it.")
    String id;

    @Option(names = "--cancel", description = "Return it to service instead.")
    boolean cancel;

    @Override
    public Integer call() throws IOException {
      ChunkServerReport cs;
      try (PanguClient client = connection.open()) {
        cs = client.decommissionChunkServer(id, cancel);
      }
      System.out.println(cs.getLocation().getId() + " " + cs.getLocation().getAddress()
          + (cancel ? " is in service" : adminState(cs)));
      return 0;
    }
  }

  /** ", DECOMMISSIONING (N chunks to move)" and the like; empty for a chunkserver in service. */
  static String adminState(ChunkServerReport cs) {
    return switch (cs.getAdminState()) {
      case CHUNKSERVER_ADMIN_STATE_DECOMMISSIONING -> ", DECOMMISSIONING ("
          + (cs.getChunksToMove() < 0 ? "counting the chunks to move"
              : cs.getChunksToMove() + " chunks to move") + ")";
      case CHUNKSERVER_ADMIN_STATE_DECOMMISSIONED -> ", DECOMMISSIONED (may be stopped)";
      default -> "";
    };
  }

  /**
   * Copies {@code in} to {@code out}, with a progress bar on standard error when it is a terminal
   * and the copy is large.
   *
   * @param total the bytes expected, or -1 if unknown
   */
  static void copy(InputStream in, OutputStream out, long total, String label)
      throws IOException {
    byte[] buffer = new byte[COPY_BUFFER_BYTES];
    boolean progress = System.console() != null && total >= PROGRESS_MIN_BYTES;
    long copied = 0;
    long start = System.nanoTime();
    int shownPercent = -1;
    for (int n; (n = in.read(buffer)) >= 0; ) {
      out.write(buffer, 0, n);
      copied += n;
      if (progress) {
        int percent = (int) (copied * 100 / total);
        if (percent != shownPercent) {
          shownPercent = percent;
          double seconds = Math.max(1e-3, (System.nanoTime() - start) / 1e9);
          System.err.printf(Locale.ROOT, "\r%s [%-40s] %3d%% %s %.0f MB/s", label,
              "#".repeat(percent * 40 / 100), percent, ByteSizes.format(copied), copied / 1e6 / seconds);
        }
      }
    }
    if (progress) {
      System.err.println();
    }
  }

  static String permissions(int mode) {
    StringBuilder text = new StringBuilder(9);
    String letters = "rwxrwxrwx";
    for (int bit = 8; bit >= 0; bit--) {
      text.append((mode & (1 << bit)) != 0 ? letters.charAt(8 - bit) : '-');
    }
    return text.toString();
  }

  static String time(long epochMs) {
    return DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm", Locale.ROOT)
        .format(Instant.ofEpochMilli(epochMs).atOffset(ZoneOffset.UTC));
  }

  static String quota(long value) {
    return value < 0 ? "none" : Long.toString(value);
  }
}
