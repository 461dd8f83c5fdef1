package org.apsara.tenant.server;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.EnumSet;
import java.util.Optional;
import org.apsara.security.crypto.MasterKey;
import org.apsara.tenant.api.CreatedAccessKey;
import org.apsara.tenant.api.IdentityNames;
import org.apsara.tenant.server.store.IdentityStore;

/**
 * What the first start of a cluster sets up, done so that every later start (and every other
 * server starting at the same time) finds it and changes nothing:
 *
 * <ul>
 *   <li>the master key file, created with mode 0600 if absent;
 *   <li>the master key's id recorded in the store, so that a server started with another key file
 *       refuses to start instead of failing every signature;
 *   <li>the {@link IdentityNames#SYSTEM_TENANT system} tenant with its root user and one AccessKey,
 *       created in one transaction if the tenant is absent.
 * </ul>
 *
 * <p>Stateless and thread-safe.
 */
public final class Bootstrap {
  /** The display name of the system tenant. */
  public static final String SYSTEM_TENANT_DISPLAY_NAME = "Cluster operators";

  private Bootstrap() {}

  /**
   * Reads the master key file, or creates it (mode 0600, its directory 0700 if that is new too)
   * with a new random key if there is none.
   *
   * @throws IOException if the file cannot be read or created, or is accessible to group or others
   */
  public static MasterKey loadOrCreateMasterKey(Path file) throws IOException {
    try {
      return MasterKey.load(file);
    } catch (NoSuchFileException absent) {
      Path directory = file.toAbsolutePath().getParent();
      if (!Files.isDirectory(directory)) {
        Files.createDirectories(directory, PosixFilePermissions.asFileAttribute(EnumSet.of(
            PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE,
            PosixFilePermission.OWNER_EXECUTE)));
      }
      MasterKey key = MasterKey.generate(new SecureRandom());
      try {
        key.store(file);
        return key;
      } catch (FileAlreadyExistsException raced) {
        // Another process created it between our read and our write: its key is the one.
        return MasterKey.load(file);
      }
    }
  }

  /**
   * Records the master key's id in the store if none is recorded, and checks that the recorded one
   * is this key's.
   *
   * @throws IllegalStateException if the store's secrets are sealed with another master key
   */
  public static void checkMasterKey(IdentityStore store, MasterKey key) {
    String recorded = store.recordMasterKeyId(key.keyId());
    if (!recorded.equals(key.keyId())) {
      throw new IllegalStateException("the master key file holds key " + key.keyId()
          + ", but the cluster's secrets are sealed with key " + recorded
          + "; give every identity server a copy of the same master key file");
    }
  }

  /**
   * Creates the system tenant, its root user and a root AccessKey if the tenant does not exist.
   *
   * @return the new root AccessKey with its secret, only if this call created it; the caller
   *     should hand it to the operator (write it to a credentials file), since it cannot be read
   *     again
   */
  public static Optional<CreatedAccessKey> createSystemTenant(IdentityStore store) {
    return store.createTenantWithRootAccessKey(
        IdentityNames.SYSTEM_TENANT, SYSTEM_TENANT_DISPLAY_NAME);
  }
}
