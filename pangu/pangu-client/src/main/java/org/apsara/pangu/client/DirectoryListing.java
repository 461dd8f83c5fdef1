package org.apsara.pangu.client;

import java.io.IOException;
import org.apsara.pangu.api.v1.FileStatus;

/**
 * A directory's entries in name order, fetched a page at a time as the caller moves on. Each
 * page is consistent in itself; entries added or removed between pages may or may not be seen.
 *
 * <p>Not thread-safe: one caller iterates.
 */
public interface DirectoryListing {
  /**
   * @throws IOException if fetching the next page failed (for example the directory was deleted
   *     meanwhile: {@link PanguErrorCode#NOT_FOUND})
   */
  boolean hasNext() throws IOException;

  /** @throws java.util.NoSuchElementException after the last entry */
  FileStatus next() throws IOException;
}
