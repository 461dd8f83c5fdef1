package org.apsara.raft;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Cuts a torn write off the end of a member's Raft log before Ratis reads it, and refuses a log
 * damaged anywhere else with an error that says where.
 *
 * <p>Ratis appends entries to a group's open segment ({@code log_inprogress_START}) over
 * zero-filled preallocated space, and forces them before the member acknowledges them. A power
 * loss or host crash between an append and its force can leave the last entries partly on disk:
 * some of their sectors written, the rest still zero. Ratis 3.2.2 skips an entry cut short by
 * the end of the file, but one whose missing sectors read as zeros fails its checksum, and Ratis
 * then will not start the member at all ("Failed to initRaftLog") until its log is edited by hand.
 *
 * <p>Such an entry was never forced, so never acknowledged, and nothing written after it was
 * either (a force covers everything written before it). So the first entry of an open segment
 * that fails its checksum is cut off with all that follows it, if it looks torn: one of its
 * pieces between 512-byte sector boundaries reads as all zeros (the rule etcd's write-ahead log
 * uses). Other damage, such as a flipped bit, may be in an acknowledged entry, which the other
 * members may need from this one: the member does not start, rather than lose it quietly.
 *
 * <p>The segment format read here is Ratis's ({@code SegmentedRaftLogFormat} and {@code
 * SegmentedRaftLogReader}): the header {@code RaftLog1}, then per entry its length as a varint,
 * the entry, and a big-endian CRC32C of both; a zero byte where an entry would start ends the
 * log, and only zeros may follow it.
 */
public final class TornWriteRepair {
  private static final Logger LOG = LoggerFactory.getLogger(TornWriteRepair.class);
  private static final byte[] HEADER = "RaftLog1".getBytes(StandardCharsets.US_ASCII);
  private static final Pattern OPEN_SEGMENT = Pattern.compile("log_inprogress_(\\d+)");
  /** The smallest unit a disk writes whole; a torn write leaves whole sectors unwritten. */
  static final int SECTOR_BYTES = 512;
  private static final int CHECKSUM_BYTES = 4;
  private static final int MAX_VARINT_BYTES = 5;
  /** How much of a segment one read takes in. */
  private static final int WINDOW_BYTES = 1 << 20;

  private TornWriteRepair() {}

  /** What {@link #repair} did to one open segment. */
  public record Cut(Path segment, long offset, long bytesDropped, long entriesKept) {}

  /**
   * Checks the open segments of a group's log directory (Ratis's {@code current} directory);
   * cuts off a torn last write, and throws if a segment is damaged otherwise. Closed segments
   * are left to Ratis: each was forced whole before it was closed. Call it where nothing else
   * writes the log: from {@code StateMachine.initialize}, which Ratis calls after it has locked
   * the storage and before it reads the log.
   *
   * @return the segments cut, if any
   * @throws DamagedLogException if an open segment is damaged in a way a torn write does not
   *     explain
   */
  public static List<Cut> repair(Path logDir) throws IOException {
    List<Path> files;
    try (Stream<Path> listed = Files.list(logDir)) {
      files = listed.sorted().toList();
    }
    List<Cut> cuts = new ArrayList<>();
    for (Path file : files) {
      Matcher open = OPEN_SEGMENT.matcher(file.getFileName().toString());
      if (open.matches()) {
        Cut cut = repairSegment(file, Long.parseLong(open.group(1)));
        if (cut != null) {
          cuts.add(cut);
        }
      }
    }
    return cuts;
  }

  /** Cuts a torn write off the open segment of entries from {@code startIndex}; null if none. */
  private static Cut repairSegment(Path segment, long startIndex) throws IOException {
    try (FileChannel channel = FileChannel.open(segment, StandardOpenOption.READ,
        StandardOpenOption.WRITE)) {
      Scan scan = new Scan(segment, channel, startIndex);
      long tornAt = scan.findTornEntry();
      if (tornAt < 0) {
        return null;
      }
      long size = channel.size();
      channel.truncate(tornAt);
      channel.force(true);
      Cut cut = new Cut(segment, tornAt, size - tornAt, scan.entries);
      LOG.atWarn().addKeyValue("segment", segment).addKeyValue("offset", tornAt)
          .addKeyValue("bytesDropped", cut.bytesDropped())
          .addKeyValue("lastIndexKept", startIndex + scan.entries - 1)
          .log("the Raft log ended in a torn write (a crash before the write was forced, so it "
              + "was never acknowledged); cut it off");
      return cut;
    }
  }

  /** One pass over a segment, entry by entry. */
  private static final class Scan {
    private final Path segment;
    private final FileChannel channel;
    private final long startIndex;
    private final long size;
    private final CRC32C crc = new CRC32C();
    /** Bytes of the file from {@link #windowStart} on, up to the buffer's limit. */
    private ByteBuffer window = ByteBuffer.allocate(0);
    private long windowStart;
    /** Whole entries read so far. */
    long entries;

    Scan(Path segment, FileChannel channel, long startIndex) throws IOException {
      this.segment = segment;
      this.channel = channel;
      this.startIndex = startIndex;
      this.size = channel.size();
    }

    /**
     * @return the offset of the first entry that is torn, or -1 if the segment ends cleanly (or
     *     with an entry cut short by the end of the file, which Ratis skips itself)
     */
    long findTornEntry() throws IOException {
      if (size < HEADER.length) {
        return -1; // a header not written whole: Ratis starts the segment afresh
      }
      ByteBuffer header = read(0, HEADER.length);
      for (byte b : HEADER) {
        if (header.get() != b) {
          return -1; // not a segment this format describes: Ratis says so itself
        }
      }
      long position = HEADER.length;
      while (position < size) {
        ByteBuffer lengthBytes = read(position, (int) Math.min(MAX_VARINT_BYTES, size - position));
        if (lengthBytes.get(0) == 0) {
          return checkEnd(position);
        }
        long length = readVarint(lengthBytes);
        if (length == -1) {
          return -1; // the length itself runs past the end of the file
        }
        if (length < 0) {
          throw damaged(position, "its length is not a valid varint");
        }
        int lengthSize = lengthBytes.position();
        long total = lengthSize + length + CHECKSUM_BYTES;
        if (position + total > size) {
          return -1; // cut short by the end of the file: Ratis skips it
        }
        ByteBuffer entry = read(position, (int) total);
        crc.reset();
        crc.update(entry.duplicate().limit((int) (total - CHECKSUM_BYTES)));
        int stored = entry.getInt((int) (total - CHECKSUM_BYTES));
        if ((int) crc.getValue() != stored) {
          if (hasZeroSector(position, position + total)) {
            return position;
          }
          throw damaged(position, "it fails its checksum, and no sector of it reads as zeros as "
              + "after a torn write");
        }
        entries++;
        position += total;
      }
      return -1;
    }

    /**
     * The log ends at {@code position} with a zero byte: clean if only zeros follow, torn if the
     * zeros run from there to the next sector boundary (that sector was not written, a later one
     * was), damaged otherwise.
     */
    private long checkEnd(long position) throws IOException {
      long sectorEnd = Math.min(size, (position / SECTOR_BYTES + 1) * SECTOR_BYTES);
      long nonZero = firstNonZero(position, size);
      if (nonZero < 0) {
        return -1;
      }
      if (nonZero >= sectorEnd) {
        return position;
      }
      throw damaged(position, "the log ends there, but byte " + nonZero
          + " after the end is not zero");
    }

    /**
     * Whether one piece of {@code [from, to)}, split at sector boundaries, is all zeros. A
     * torn write leaves whole sectors unwritten, so a torn entry has such a piece.
     */
    private boolean hasZeroSector(long from, long to) throws IOException {
      long pieceStart = from;
      while (pieceStart < to) {
        long pieceEnd = Math.min(to, (pieceStart / SECTOR_BYTES + 1) * SECTOR_BYTES);
        if (firstNonZero(pieceStart, pieceEnd) < 0) {
          return true;
        }
        pieceStart = pieceEnd;
      }
      return false;
    }

    /** The offset of the first non-zero byte of {@code [from, to)}, or -1 if there is none. */
    private long firstNonZero(long from, long to) throws IOException {
      long position = from;
      while (position < to) {
        int length = (int) Math.min(to - position, 64 << 10);
        ByteBuffer bytes = read(position, length);
        for (int i = 0; i < length; i++) {
          if (bytes.get(i) != 0) {
            return position + i;
          }
        }
        position += length;
      }
      return -1;
    }

    /**
     * The {@code length} bytes at {@code position}, as a buffer of its own (position 0, limit
     * {@code length}) over the scan's window of the file: a segment of small entries is read in
     * large reads, not one or more per entry.
     */
    private ByteBuffer read(long position, int length) throws IOException {
      if (position < windowStart || position + length > windowStart + window.limit()) {
        int wanted = (int) Math.min(Math.max(length, WINDOW_BYTES), size - position);
        if (window.capacity() < wanted) {
          window = ByteBuffer.allocate(wanted);
        }
        window.clear().limit(wanted);
        long at = position;
        while (window.hasRemaining()) {
          int n = channel.read(window, at);
          if (n < 0) {
            throw new IOException(segment + " ended at " + at + " while being read");
          }
          at += n;
        }
        windowStart = position;
      }
      int offset = (int) (position - windowStart);
      return window.duplicate().position(offset).limit(offset + length).slice();
    }

    private DamagedLogException damaged(long offset, String what) {
      return new DamagedLogException("Raft log segment " + segment + " is damaged at byte "
          + offset + ", where entry " + (startIndex + entries) + " starts: " + what
          + ". It may be an entry this member acknowledged, so the member does not start rather"
          + " than drop it. Restore the member from the others: remove it from the group, move"
          + " its data directory away, and add it again.");
    }
  }

  /**
   * Reads a protobuf varint32 from the buffer's position.
   *
   * @return the value; -1 if the buffer ends inside it; -2 if it is longer than five bytes
   */
  static long readVarint(ByteBuffer bytes) {
    long value = 0;
    for (int shift = 0; shift < 35; shift += 7) {
      if (!bytes.hasRemaining()) {
        return -1;
      }
      byte b = bytes.get();
      value |= (long) (b & 0x7f) << shift;
      if (b >= 0) {
        return value > Integer.MAX_VALUE ? -2 : value;
      }
    }
    return -2;
  }

  /** A Raft log damaged where a torn write cannot explain it. */
  public static final class DamagedLogException extends IOException {
    DamagedLogException(String message) {
      super(message);
    }
  }
}
