package org.apsara.pangu.client;

/**
 * How {@link PanguClient#create} creates a file. Immutable.
 *
 * @param overwrite replace an existing file that no other client is writing
 * @param replication replicas per chunk; 0 for the master's default (3)
 * @param chunkSizeBytes the largest chunk; 0 for the master's default (64 MiB)
 * @param mode permission bits (0 to 07777); 0 for the master's default (0644)
 * @param createParent create missing parent directories (mode 0755)
 */
public record CreateOptions(
    boolean overwrite, int replication, long chunkSizeBytes, int mode, boolean createParent) {

  /** No overwrite, the master's defaults, parents created. */
  public static final CreateOptions DEFAULTS = new CreateOptions(false, 0, 0, 0, true);

  public CreateOptions {
    if (replication < 0 || chunkSizeBytes < 0 || mode < 0 || mode > 07777) {
      throw new IllegalArgumentException("replication and chunk size must not be negative and"
          + " the mode must be 0..07777: " + replication + ", " + chunkSizeBytes + ", "
          + Integer.toOctalString(mode));
    }
  }

  public CreateOptions withOverwrite(boolean value) {
    return new CreateOptions(value, replication, chunkSizeBytes, mode, createParent);
  }

  public CreateOptions withReplication(int value) {
    return new CreateOptions(overwrite, value, chunkSizeBytes, mode, createParent);
  }

  public CreateOptions withChunkSizeBytes(long value) {
    return new CreateOptions(overwrite, replication, value, mode, createParent);
  }

  public CreateOptions withMode(int value) {
    return new CreateOptions(overwrite, replication, chunkSizeBytes, value, createParent);
  }

  public CreateOptions withCreateParent(boolean value) {
    return new CreateOptions(overwrite, replication, chunkSizeBytes, mode, value);
  }
}
