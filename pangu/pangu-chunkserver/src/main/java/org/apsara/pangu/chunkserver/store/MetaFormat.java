package org.apsara.pangu.chunkserver.store;

import java.nio.ByteBuffer;
import java.util.Optional;
import java.util.zip.CRC32C;

/**
 * Encodes and decodes the regions of a replica's metadata file (layout in {@code package-info}).
 * Stateless; thread-safe.
 */
final class MetaFormat {
  static final int MAGIC = 0x50474d44; // "PGMD"
  static final short FORMAT_VERSION = 1;
  static final int SYNC_RECORD_MAGIC = 0x50475352; // "PGSR"

  /** The disk's atomic write unit; every header region is one such sector. */
  static final int SECTOR_BYTES = 512;
  static final int SUPERBLOCK_OFFSET = 0;
  static final int SYNC_SLOT_COUNT = 2;
  static final int SYNC_SLOTS_OFFSET = SECTOR_BYTES;
  static final int CHECKSUMS_OFFSET = SYNC_SLOTS_OFFSET + SYNC_SLOT_COUNT * SECTOR_BYTES;
  static final int CHECKSUM_BYTES = Integer.BYTES;

  /** Bytes of a superblock covered by its own checksum. */
  private static final int SUPERBLOCK_CHECKED_BYTES = 40;
  private static final int SYNC_RECORD_CHECKED_BYTES = 28;
  private static final byte STATE_OPEN = 1;
  private static final byte STATE_SEALED = 2;
  private static final long OPEN_SEALED_LENGTH = -1;

  private MetaFormat() {}

  /** The fixed header of a metadata file. */
  record Superblock(
      long chunkId, long generation, int blockSizeBytes, boolean sealed, long sealedLength) {}

  /** A sync record: every byte below {@code syncedLength} was forced to disk. */
  record SyncRecord(long sequence, long syncedLength, int tailChecksum) {}

  static long checksumOffset(long blockIndex) {
    return CHECKSUMS_OFFSET + blockIndex * CHECKSUM_BYTES;
  }

  static long syncSlotOffset(long sequence) {
    return SYNC_SLOTS_OFFSET + (long) Math.floorMod(sequence, SYNC_SLOT_COUNT) * SECTOR_BYTES;
  }

  /** One sector holding the superblock, zero-padded; position 0, limit 512. */
  static ByteBuffer encodeSuperblock(Superblock superblock) {
    ByteBuffer buffer = ByteBuffer.allocate(SECTOR_BYTES);
    buffer.putInt(MAGIC);
    buffer.putShort(FORMAT_VERSION);
    buffer.put(superblock.sealed() ? STATE_SEALED : STATE_OPEN);
    buffer.put((byte) 0);
    buffer.putInt(superblock.blockSizeBytes());
    buffer.putInt(0);
    buffer.putLong(superblock.chunkId());
    buffer.putLong(superblock.generation());
    buffer.putLong(superblock.sealed() ? superblock.sealedLength() : OPEN_SEALED_LENGTH);
    buffer.putInt(crc(buffer.array(), 0, SUPERBLOCK_CHECKED_BYTES));
    return buffer.clear();
  }

  /**
   * Decodes a superblock from the first sector of a metadata file.
   *
   * @throws MetadataFormatException naming what is wrong
   */
  static Superblock decodeSuperblock(ByteBuffer sector) throws MetadataFormatException {
    if (sector.remaining() < SECTOR_BYTES) {
      throw new MetadataFormatException(
          "superblock is truncated: " + sector.remaining() + " of " + SECTOR_BYTES + " bytes");
    }
    byte[] bytes = new byte[SECTOR_BYTES];
    sector.duplicate().get(bytes);
    ByteBuffer buffer = ByteBuffer.wrap(bytes);
    int magic = buffer.getInt();
    if (magic != MAGIC) {
      throw new MetadataFormatException(String.format("bad magic 0x%08x", magic));
    }
    short version = buffer.getShort();
    if (version != FORMAT_VERSION) {
      throw new MetadataFormatException("unsupported format version " + version);
    }
    int stored = ByteBuffer.wrap(bytes, SUPERBLOCK_CHECKED_BYTES, Integer.BYTES).getInt();
    int actual = crc(bytes, 0, SUPERBLOCK_CHECKED_BYTES);
    if (stored != actual) {
      throw new MetadataFormatException(
          String.format("superblock checksum 0x%08x does not match 0x%08x", stored, actual));
    }
    byte state = buffer.get();
    buffer.get();
    int blockSizeBytes = buffer.getInt();
    buffer.getInt();
    long chunkId = buffer.getLong();
    long generation = buffer.getLong();
    long sealedLength = buffer.getLong();
    if (state != STATE_OPEN && state != STATE_SEALED) {
      throw new MetadataFormatException("unknown replica state " + state);
    }
    boolean sealed = state == STATE_SEALED;
    if (sealed && sealedLength < 0) {
      throw new MetadataFormatException("sealed with negative length " + sealedLength);
    }
    return new Superblock(chunkId, generation, blockSizeBytes, sealed, sealed ? sealedLength : 0);
  }

  /** One sector holding the record, zero-padded; position 0, limit 512. */
  static ByteBuffer encodeSyncRecord(SyncRecord record) {
    ByteBuffer buffer = ByteBuffer.allocate(SECTOR_BYTES);
    buffer.putInt(SYNC_RECORD_MAGIC);
    buffer.putInt(0);
    buffer.putLong(record.sequence());
    buffer.putLong(record.syncedLength());
    buffer.putInt(record.tailChecksum());
    buffer.putInt(crc(buffer.array(), 0, SYNC_RECORD_CHECKED_BYTES));
    return buffer.clear();
  }

  /** The record in this slot, or empty if the slot was never written or is torn. */
  static Optional<SyncRecord> decodeSyncRecord(ByteBuffer sector) {
    if (sector.remaining() < SYNC_RECORD_CHECKED_BYTES + Integer.BYTES) {
      return Optional.empty();
    }
    ByteBuffer buffer = sector.duplicate();
    byte[] checked = new byte[SYNC_RECORD_CHECKED_BYTES];
    buffer.get(checked);
    int stored = buffer.getInt();
    if (stored != crc(checked, 0, checked.length)) {
      return Optional.empty();
    }
    ByteBuffer fields = ByteBuffer.wrap(checked);
    if (fields.getInt() != SYNC_RECORD_MAGIC) {
      return Optional.empty();
    }
    fields.getInt();
    long sequence = fields.getLong();
    long syncedLength = fields.getLong();
    int tailChecksum = fields.getInt();
    if (sequence < 0 || syncedLength < 0) {
      return Optional.empty();
    }
    return Optional.of(new SyncRecord(sequence, syncedLength, tailChecksum));
  }

  static int crc(byte[] bytes, int offset, int length) {
    CRC32C crc = new CRC32C();
    crc.update(bytes, offset, length);
    return (int) crc.getValue();
  }

  /** CRC32C of {@code length} bytes of {@code bytes} at absolute index {@code offset}. */
  static int crc(ByteBuffer bytes, int offset, int length) {
    CRC32C crc = new CRC32C();
    crc.update(bytes.slice(offset, length));
    return (int) crc.getValue();
  }

  /** The metadata file does not parse. */
  static final class MetadataFormatException extends Exception {
    MetadataFormatException(String message) {
      super(message);
    }
  }
}
