package org.apsara.pangu.hadoop;

import java.io.FileNotFoundException;
import java.io.IOException;
import org.apache.hadoop.fs.FileAlreadyExistsException;
import org.apache.hadoop.fs.ParentNotDirectoryException;
import org.apache.hadoop.fs.PathIsNotEmptyDirectoryException;
import org.apache.hadoop.security.AccessControlException;
import org.apsara.pangu.client.PanguException;

/** Turns Pangu's error codes into the exception types Hadoop callers catch. Stateless. */
final class PanguErrors {
  private PanguErrors() {}

  /**
   * The Hadoop exception for {@code e}: {@code NOT_FOUND} is a {@link FileNotFoundException},
   * {@code ALREADY_EXISTS} a {@link FileAlreadyExistsException}, {@code NOT_A_DIRECTORY} a
   * {@link ParentNotDirectoryException}, {@code DIRECTORY_NOT_EMPTY} a {@link
   * PathIsNotEmptyDirectoryException}, {@code PERMISSION_DENIED} an {@link
   * AccessControlException}; anything else stays the {@link PanguException} (an
   * {@link IOException} carrying the code).
   */
  static IOException translate(PanguException e) {
    IOException translated = switch (e.code()) {
      case NOT_FOUND -> new FileNotFoundException(e.getMessage());
      case ALREADY_EXISTS -> new FileAlreadyExistsException(e.getMessage());
      case NOT_A_DIRECTORY -> new ParentNotDirectoryException(e.getMessage());
      case DIRECTORY_NOT_EMPTY -> new PathIsNotEmptyDirectoryException(e.path());
      case PERMISSION_DENIED -> new AccessControlException(e.getMessage());
      default -> null;
    };
    if (translated == null) {
      return e;
    }
    translated.initCause(e);
    return translated;
  }

  /**
   * For a lookup of a path (status, open, listing): a file where a directory should be means
   * the path does not exist, a {@link FileNotFoundException} as in HDFS.
   */
  static IOException translateLookup(PanguException e) {
    if (e.code() == org.apsara.pangu.client.PanguErrorCode.NOT_A_DIRECTORY) {
      return (IOException) new FileNotFoundException(e.getMessage()).initCause(e);
    }
    return translate(e);
  }
}
