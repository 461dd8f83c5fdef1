package org.apsara.pangu.master.namespace;

import java.util.List;

/**
 * One page of a directory listing, in byte order of the UTF-8 names. Immutable.
 *
 * @param entries at most the requested limit
 * @param hasMore more entries follow the last one; ask again with its name as {@code startAfter}
 */
public record DirectoryListing(List<FileStatus> entries, boolean hasMore) {
  public DirectoryListing {
    entries = List.copyOf(entries);
  }
}
