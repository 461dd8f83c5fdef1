package org.apsara.pangu.chunkserver.store;

import java.io.IOException;

/**
 * A request the chunk store refused or could not complete, for a reason the caller can act on;
 * the subclasses name each reason so that the data path can map it to a status. Plain {@link
 * IOException}s from the store are disk errors.
 */
public class ChunkStoreException extends IOException {
  private static final long serialVersionUID = 1L;

  public ChunkStoreException(String message) {
    super(message);
  }

  public ChunkStoreException(String message, Throwable cause) {
    super(message, cause);
  }
}
