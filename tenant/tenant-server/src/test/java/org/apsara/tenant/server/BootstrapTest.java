package org.apsara.tenant.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.apsara.security.crypto.MasterKey;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The master key file half of the bootstrap; the store half runs in the end-to-end test. */
class BootstrapTest {
  @TempDir Path dir;

  @Test
  void theMasterKeyFileIsCreatedOnceWithMode0600() throws Exception {
    Path file = dir.resolve("secrets/master.key");

    MasterKey created = Bootstrap.loadOrCreateMasterKey(file);
    MasterKey loaded = Bootstrap.loadOrCreateMasterKey(file);

    assertThat(loaded.keyId()).isEqualTo(created.keyId());
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file)))
        .isEqualTo("rw-------");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file.getParent())))
        .isEqualTo("rwx------");
  }

  @Test
  void aKeyFileOthersCanReadIsRefusedRatherThanReplaced() throws Exception {
    Path file = dir.resolve("master.key");
    MasterKey created = Bootstrap.loadOrCreateMasterKey(file);
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));

    assertThatThrownBy(() -> Bootstrap.loadOrCreateMasterKey(file))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("chmod 600");
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
    assertThat(Bootstrap.loadOrCreateMasterKey(file).keyId()).isEqualTo(created.keyId());
  }
}
