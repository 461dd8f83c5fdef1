package org.apsara.pangu.master.raft;

import java.io.File;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.storage.FileInfo;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.SnapshotInfo;
import org.apache.ratis.statemachine.SnapshotRetentionPolicy;
import org.apache.ratis.statemachine.StateMachineStorage;
import org.apache.ratis.statemachine.impl.FileListSnapshotInfo;
import org.apsara.common.io.FileTrees;
import org.apsara.pangu.master.namespace.AppliedIndex;
import org.apsara.raft.SnapshotCleanupGate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The master's snapshots in Ratis's state machine directory: one directory per snapshot, named
 * {@code snapshot.<term>_<index>} after the last applied entry it holds, containing a RocksDB
 * checkpoint of the namespace (SST files, MANIFEST, OPTIONS, CURRENT).
 *
 * <p>Snapshots live directly in the directory Ratis calls the state machine directory, because
 * that is what Ratis's snapshot transfer works with: the leader names each file by its path
 * below the storage root, and a follower that received every file replaces its whole state
 * machine directory by them. A directory being written is named {@code .tmp} and renamed into
 * place once complete and synced, so a crash never leaves a half snapshot under a valid name.
 *
 * <p>Threading: Ratis calls it from the apply thread (taking a snapshot, reloading) and from the
 * snapshot installer; the latest snapshot is a volatile reference.
 */
final class CheckpointSnapshotStorage implements StateMachineStorage {
  private static final Logger LOG = LoggerFactory.getLogger(CheckpointSnapshotStorage.class);
  private static final Pattern SNAPSHOT_NAME = Pattern.compile("snapshot\\.(\\d+)_(\\d+)");
  private static final String TMP_SUFFIX = ".tmp";
  /** Written by Ratis's installer beside each received file, once it checked the file's MD5. */
  private static final String MD5_SUFFIX = ".md5";
  private static final String CHECKPOINT = "checkpoint";
  private static final String NAMESPACE_APPLIED = "namespace-applied";

  private volatile File stateMachineDir;
  private volatile FileListSnapshotInfo latest;
  private final SnapshotCleanupGate cleanupGate = new SnapshotCleanupGate();

  @Override
  public void init(RaftStorage raftStorage) throws IOException {
    stateMachineDir = raftStorage.getStorageDir().getStateMachineDir();
    Files.createDirectories(stateMachineDir.toPath());
    deleteUnfinished();
    latest = scanLatest();
  }

  /** Lists the state machine directory again; after Ratis installed a snapshot into it. */
  FileListSnapshotInfo reload() throws IOException {
    latest = scanLatest();
    return latest;
  }

  @Override
  public SnapshotInfo getLatestSnapshot() {
    return latest;
  }

  /** The latest snapshot, or null. */
  FileListSnapshotInfo latest() {
    return latest;
  }

  @Override
  public void format() {
    // A new group's state machine directory is empty; nothing to lay out.
  }

  /** Where the checkpoint of the snapshot at {@code termIndex} lives (whether or not it does). */
  Path directoryOf(TermIndex termIndex) {
    return stateMachineDir.toPath()
        .resolve("snapshot." + termIndex.getTerm() + "_" + termIndex.getIndex());
  }

  /** A fresh, absent directory to write a snapshot into before {@link #publish} renames it. */
  Path temporaryDirectory(TermIndex termIndex) throws IOException {
    Path tmp = directoryOf(termIndex).resolveSibling(
        directoryOf(termIndex).getFileName() + TMP_SUFFIX);
    FileTrees.delete(tmp);
    return tmp;
  }

  /** Where a snapshot directory keeps its RocksDB checkpoint. */
  static Path checkpointOf(Path snapshotDirectory) {
    return snapshotDirectory.resolve(CHECKPOINT);
  }

  /**
   * Records the namespace's applied index next to the checkpoint in {@code tmp}, syncs it all
   * and renames it to its final name, atomically.
   */
  FileListSnapshotInfo publish(Path tmp, TermIndex termIndex, AppliedIndex namespaceApplied)
      throws IOException {
    Files.writeString(tmp.resolve(NAMESPACE_APPLIED),
        namespaceApplied.term() + " " + namespaceApplied.index() + "\n", StandardCharsets.UTF_8);
    try (Stream<Path> paths = Files.walk(tmp)) {
      for (Path path : (Iterable<Path>) paths::iterator) {
        fsync(path);
      }
    }
    Path target = directoryOf(termIndex);
    FileTrees.delete(target);
    Files.move(tmp, target, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    fsync(stateMachineDir.toPath());
    latest = infoOf(target, termIndex);
    return latest;
  }

  /**
   * The namespace's applied index recorded in {@code snapshot}; the snapshot's own index if the
   * record is missing or unreadable (never more than the namespace holds, so at worst a member
   * restores a snapshot it did not need).
   */
  AppliedIndex namespaceApplied(FileListSnapshotInfo snapshot) {
    Path marker = directoryOf(snapshot.getTermIndex()).resolve(NAMESPACE_APPLIED);
    try {
      String[] parts = Files.readString(marker, StandardCharsets.UTF_8).trim().split(" ");
      return new AppliedIndex(Long.parseLong(parts[0]), Long.parseLong(parts[1]));
    } catch (IOException | RuntimeException e) {
      LOG.atWarn().addKeyValue("marker", marker).addKeyValue("error", e.toString())
          .log("cannot read the namespace index of a snapshot; using the snapshot's index");
      return new AppliedIndex(snapshot.getTerm(), snapshot.getIndex());
    }
  }

  /**
   * Keeps the newest {@code policy.getNumSnapshotsRetained()} snapshots and deletes the others.
   * Never deletes the latest one; looks only when {@link SnapshotCleanupGate} says so.
   */
  @Override
  public void cleanupOldSnapshots(SnapshotRetentionPolicy policy) throws IOException {
    int retained = policy == null ? SnapshotRetentionPolicy.DEFAULT_ALL_SNAPSHOTS_RETAINED
        : policy.getNumSnapshotsRetained();
    if (retained <= 0 || !cleanupGate.due(latest)) {
      return;
    }
    List<Found> all = listSnapshots();
    all.sort(Comparator.comparingLong((Found f) -> f.termIndex.getIndex()).reversed());
    for (Found old : all.subList(Math.min(retained, all.size()), all.size())) {
      LOG.atInfo().addKeyValue("snapshot", old.directory.getFileName()).log("deleting old snapshot");
      FileTrees.delete(old.directory);
    }
  }

  /** Deletes the MD5 files Ratis's installer left beside a received checkpoint's files. */
  static void deleteChecksumFiles(Path snapshotDirectory) throws IOException {
    try (Stream<Path> files = Files.walk(snapshotDirectory)) {
      for (Path file : (Iterable<Path>) files::iterator) {
        if (Files.isRegularFile(file) && file.getFileName().toString().endsWith(MD5_SUFFIX)) {
          Files.delete(file);
        }
      }
    }
  }

  private record Found(Path directory, TermIndex termIndex) {}

  private List<Found> listSnapshots() throws IOException {
    List<Found> found = new ArrayList<>();
    try (Stream<Path> entries = Files.list(stateMachineDir.toPath())) {
      for (Path entry : (Iterable<Path>) entries::iterator) {
        Matcher m = SNAPSHOT_NAME.matcher(entry.getFileName().toString());
        if (m.matches() && Files.isDirectory(entry)) {
          found.add(new Found(entry,
              TermIndex.valueOf(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)))));
        }
      }
    }
    return found;
  }

  private FileListSnapshotInfo scanLatest() throws IOException {
    Optional<Found> newest = listSnapshots().stream()
        .max(Comparator.comparingLong(f -> f.termIndex.getIndex()));
    return newest.isEmpty() ? null : infoOf(newest.get().directory, newest.get().termIndex);
  }

  /** The snapshot's files for Ratis to send: every checkpoint file, with absolute paths. */
  private static FileListSnapshotInfo infoOf(Path directory, TermIndex termIndex)
      throws IOException {
    List<FileInfo> files = new ArrayList<>();
    try (Stream<Path> entries = Files.walk(directory)) {
      for (Path file : (Iterable<Path>) entries.sorted()::iterator) {
        if (Files.isRegularFile(file) && !file.getFileName().toString().endsWith(MD5_SUFFIX)) {
          // No digest: Ratis computes the MD5 while it streams the file and the receiver checks it.
          files.add(new FileInfo(file.toAbsolutePath(), null));
        }
      }
    }
    if (files.isEmpty()) {
      throw new IOException("snapshot " + directory + " holds no files");
    }
    return new FileListSnapshotInfo(files, termIndex);
  }

  private void deleteUnfinished() throws IOException {
    try (Stream<Path> entries = Files.list(stateMachineDir.toPath())) {
      for (Path entry : (Iterable<Path>) entries::iterator) {
        if (entry.getFileName().toString().endsWith(TMP_SUFFIX)) {
          LOG.atInfo().addKeyValue("directory", entry.getFileName())
              .log("deleting an unfinished snapshot");
          FileTrees.delete(entry);
        }
      }
    }
  }

  /** Linux syncs a file or a directory through a read-only descriptor as well. */
  private static void fsync(Path path) throws IOException {
    try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
      channel.force(true);
    }
  }
}
