package org.apsara.testkit;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.stream.Stream;

/** A member's Raft log on disk (Ratis's segment files), and what a crash can leave of it. */
public final class RaftLogFiles {
  private RaftLogFiles() {}

  /** The open segment ({@code log_inprogress_START}) somewhere under a member's directory. */
  public static Path openSegment(Path memberDir) throws IOException {
    try (Stream<Path> files = Files.walk(memberDir)) {
      return files.filter(p -> p.getFileName().toString().matches("log_inprogress_\\d+"))
          .findFirst()
          .orElseThrow(() -> new IOException("no open log segment under " + memberDir));
    }
  }

  /** The segment starting at log index 0, open or closed ({@code log_0-END}) since. */
  public static Path firstSegment(Path memberDir) throws IOException {
    try (Stream<Path> files = Files.walk(memberDir)) {
      return files.filter(p -> p.getFileName().toString().matches("log_(inprogress_0|0-\\d+)"))
          .findFirst()
          .orElseThrow(() -> new IOException("no log segment from index 0 under " + memberDir));
    }
  }

  /**
   * Appends what a power loss leaves of one more entry that was being written, unforced, into
   * space the log had preallocated with zeros: the entry's length (2,000 bytes) and its first
   * 700 bytes reached the disk, the sectors after them did not and read as zeros, as does the
   * preallocated space after the entry.
   */
  public static void appendTornEntry(Path segment) throws IOException {
    ByteBuffer torn = ByteBuffer.allocate(2 + 2000 + 4 + 8192);
    torn.put((byte) 0xd0).put((byte) 0x0f); // 2,000 as a protobuf varint
    byte[] written = new byte[700];
    Arrays.fill(written, (byte) 0x5a);
    torn.put(written).position(torn.capacity()).flip();
    try (SeekableByteChannel channel = Files.newByteChannel(segment, StandardOpenOption.APPEND)) {
      while (torn.hasRemaining()) {
        channel.write(torn);
      }
    }
  }

  /**
   * Closes a member's Raft log (Ratis's {@code RaftLog}) as Ratis 3.2.2 does after a failed
   * write, and nothing else. Closing the log also releases the group's storage, which races the
   * member's own close once it finds its log closed; the release may then fail, here or there,
   * and is ignored: the log is closed either way.
   */
  public static void closeAsAFailedWriteDoes(Closeable raftLog) {
    try {
      raftLog.close();
    } catch (IOException | RuntimeException e) {
      // the release of the storage, raced by the member's own close
    }
  }
}
