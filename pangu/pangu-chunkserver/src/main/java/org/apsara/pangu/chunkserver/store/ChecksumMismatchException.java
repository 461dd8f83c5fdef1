package org.apsara.pangu.chunkserver.store;

/**
 * A block's bytes do not match their stored CRC32C: the data or its checksum is damaged on disk.
 * The replica has been marked corrupt and reported to the {@link CorruptReplicaListener}; its
 * other blocks stay readable, each verified on its own.
 */
public final class ChecksumMismatchException extends ChunkStoreException {
  private static final long serialVersionUID = 1L;
  private final long chunkId;
  private final long generation;
  private final long blockIndex;
  private final long fileOffset;
  private final int expectedChecksum;
  private final int actualChecksum;

  public ChecksumMismatchException(long chunkId, long generation, long blockIndex,
      long fileOffset, int expectedChecksum, int actualChecksum) {
    super(String.format("chunk %d generation %d: checksum mismatch in block %d (file offset %d):"
            + " stored CRC32C 0x%08x, data has 0x%08x", chunkId, generation, blockIndex,
        fileOffset, expectedChecksum, actualChecksum));
    this.chunkId = chunkId;
    this.generation = generation;
    this.blockIndex = blockIndex;
    this.fileOffset = fileOffset;
    this.expectedChecksum = expectedChecksum;
    this.actualChecksum = actualChecksum;
  }

  public long chunkId() {
    return chunkId;
  }

  public long generation() {
    return generation;
  }

  public long blockIndex() {
    return blockIndex;
  }

  /** Offset of the block's first byte in the data file (and in the chunk). */
  public long fileOffset() {
    return fileOffset;
  }

  public int expectedChecksum() {
    return expectedChecksum;
  }

  public int actualChecksum() {
    return actualChecksum;
  }
}
