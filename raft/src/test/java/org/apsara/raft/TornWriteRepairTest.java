package org.apsara.raft;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.proto.RaftProtos.StateMachineLogEntryProto;
import org.apache.ratis.server.raftlog.segmented.SegmentedRaftLogOutputStream;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.thirdparty.com.google.protobuf.CodedOutputStream;
import org.apsara.raft.TornWriteRepair.Cut;
import org.apsara.raft.TornWriteRepair.DamagedLogException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Segments written by Ratis's own log writer, then damaged the way a crash before a force leaves
 * them (sectors of the last writes still zero), or otherwise (a flipped bit).
 */
class TornWriteRepairTest {
  private static final int ENTRIES = 10;
  /** Entries span a few sectors each, as a torn write needs to be seen. */
  private static final int ENTRY_DATA_BYTES = 1500;
  /** The zeros Ratis preallocates past the last entry. */
  private static final int PREALLOCATED_BYTES = 64 << 10;

  @TempDir Path dir;
  private Path segment;
  /** Where each entry starts; the last element is where the entries end. */
  private final List<Long> offsets = new ArrayList<>();
  private byte[] written;

  @BeforeEach
  void writeSegment() throws IOException {
    segment = dir.resolve("log_inprogress_5");
    Random random = new Random(42);
    try (SegmentedRaftLogOutputStream out = new SegmentedRaftLogOutputStream(segment.toFile(),
        false, 64L << 20, 1L << 20, ByteBuffer.allocateDirect(64 << 10))) {
      long offset = 8; // the header, "RaftLog1"
      for (int i = 0; i < ENTRIES; i++) {
        byte[] data = new byte[ENTRY_DATA_BYTES];
        random.nextBytes(data);
        LogEntryProto entry = LogEntryProto.newBuilder().setTerm(1).setIndex(5 + i)
            .setStateMachineLogEntry(StateMachineLogEntryProto.newBuilder()
                .setLogData(ByteString.copyFrom(data)))
            .build();
        out.write(entry);
        offsets.add(offset);
        int size = entry.getSerializedSize();
        offset += CodedOutputStream.computeUInt32SizeNoTag(size) + size + 4;
      }
      offsets.add(offset);
    }
    // Closing cut the preallocated space off; a crashed member's segment still has it.
    byte[] entries = Files.readAllBytes(segment);
    assertThat(entries).hasSize(Math.toIntExact(offsets.get(ENTRIES)));
    written = Arrays.copyOf(entries, entries.length + PREALLOCATED_BYTES);
    Files.write(segment, written);
  }

  private long start(int entry) {
    return offsets.get(entry);
  }

  private static long nextSector(long offset) {
    return (offset / TornWriteRepair.SECTOR_BYTES + 1) * TornWriteRepair.SECTOR_BYTES;
  }

  private void zero(long from, long to) throws IOException {
    byte[] bytes = Files.readAllBytes(segment);
    Arrays.fill(bytes, (int) from, (int) to, (byte) 0);
    Files.write(segment, bytes);
  }

  @Test
  void aSegmentEndingCleanlyIsLeftAlone() throws IOException {
    assertThat(TornWriteRepair.repair(dir)).isEmpty();
    assertThat(Files.readAllBytes(segment)).isEqualTo(written);
  }

  @Test
  void aLastEntryWithSectorsNotWrittenIsCutOff() throws IOException {
    long last = start(ENTRIES - 1);
    // The write of the last entry reached the disk up to a sector boundary inside it.
    zero(nextSector(last), start(ENTRIES));

    List<Cut> cuts = TornWriteRepair.repair(dir);

    assertThat(cuts).containsExactly(
        new Cut(segment, last, written.length - last, ENTRIES - 1));
    assertThat(Files.readAllBytes(segment)).isEqualTo(Arrays.copyOf(written, (int) last));
    assertThat(TornWriteRepair.repair(dir)).as("a second pass finds it clean").isEmpty();
  }

  @Test
  void aTornWriteOfSeveralEntriesIsCutAtItsFirstTornEntry() throws IOException {
    // Entries 6 to 9 went out in one write; one sector inside entry 7 did not reach the disk,
    // later ones did.
    long torn = start(7);
    long sector = nextSector(torn);
    zero(sector, sector + TornWriteRepair.SECTOR_BYTES);

    assertThat(TornWriteRepair.repair(dir)).extracting(Cut::offset, Cut::entriesKept)
        .containsExactly(tuple(torn, 7L));
    assertThat(Files.size(segment)).isEqualTo(torn);
  }

  @Test
  void aLastEntryWhoseFirstSectorWasNotWrittenIsCutOff() throws IOException {
    // The sector holding the end of entry 8 and the start of entry 9 kept its older contents
    // (entry 8's end, then zeros); the rest of entry 9 reached the disk.
    long last = start(ENTRIES - 1);
    zero(last, nextSector(last));

    assertThat(TornWriteRepair.repair(dir)).extracting(Cut::offset).containsExactly(last);
    assertThat(Files.readAllBytes(segment)).isEqualTo(Arrays.copyOf(written, (int) last));
  }

  @Test
  void aFlippedBitIsRefusedNamingTheSegmentAndChangesNothing() throws IOException {
    byte[] bytes = written.clone();
    long damaged = start(4);
    bytes[(int) damaged + 700] ^= 0x10;
    Files.write(segment, bytes);

    assertThatThrownBy(() -> TornWriteRepair.repair(dir))
        .isInstanceOf(DamagedLogException.class)
        .hasMessageContaining(segment.toString())
        .hasMessageContaining("damaged at byte " + damaged + ", where entry 9 starts")
        .hasMessageContaining("fails its checksum");
    assertThat(Files.readAllBytes(segment)).isEqualTo(bytes);
  }

  @Test
  void bytesAfterTheEndInTheSameSectorAreRefused() throws IOException {
    byte[] bytes = written.clone();
    int end = (int) start(ENTRIES);
    bytes[end + 1] = 7; // one byte in, still in the sector where the log ends
    Files.write(segment, bytes);

    assertThatThrownBy(() -> TornWriteRepair.repair(dir))
        .isInstanceOf(DamagedLogException.class)
        .hasMessageContaining("byte " + (end + 1) + " after the end is not zero");
  }

  @Test
  void anEntryCutShortByTheEndOfTheFileIsLeftToRatis() throws IOException {
    // Ratis skips such an entry itself (and cuts the file after it).
    byte[] bytes = Arrays.copyOf(written, (int) start(ENTRIES - 1) + 100);
    Files.write(segment, bytes);

    assertThat(TornWriteRepair.repair(dir)).isEmpty();
    assertThat(Files.readAllBytes(segment)).isEqualTo(bytes);
  }

  @Test
  void closedSegmentsAndOtherFilesAreNotRead() throws IOException {
    Files.move(segment, dir.resolve("log_5-14"));
    Files.write(dir.resolve("raft-meta"), new byte[] {1, 2, 3});

    assertThat(TornWriteRepair.repair(dir)).isEmpty();
  }
}
