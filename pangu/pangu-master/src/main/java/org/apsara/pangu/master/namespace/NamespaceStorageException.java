package org.apsara.pangu.master.namespace;

/**
 * RocksDB failed underneath the namespace (I/O error, corruption). Unlike a
 * {@link NamespaceException} this is not a refusal: a replica that cannot apply a record must
 * stop rather than diverge from the others.
 */
public final class NamespaceStorageException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public NamespaceStorageException(String message, Throwable cause) {
    super(message, cause);
  }

  public NamespaceStorageException(String message) {
    super(message);
  }
}
