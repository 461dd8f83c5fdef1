package org.apsara.security.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.io.IOException;
import java.security.SecureRandom;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class MasterKeyTest {
  @TempDir Path dir;

  @Test
  void storesWithOwnerOnlyPermissionsAndLoadsTheSameKey() throws Exception {
    MasterKey key = MasterKey.generate(new SecureRandom());
    Path file = dir.resolve("master.key");

    key.store(file);
    MasterKey loaded = MasterKey.load(file);

    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file)))
        .isEqualTo("rw-------");
    assertThat(loaded.keyId()).isEqualTo(key.keyId()).hasSize(2 * MasterKey.KEY_ID_BYTES);
    byte[] sealed = new SecretBox(key).encrypt(bytes("secret"), bytes("record"));
    assertThat(new SecretBox(loaded).decrypt(sealed, bytes("record"))).isEqualTo(bytes("secret"));
  }

  @ParameterizedTest
  @ValueSource(strings = {"rw-r--r--", "rw-r-----", "rw----r--", "rw--w----", "rw------x"})
  void refusesAFileOthersCanAccess(String mode) throws Exception {
    Path file = dir.resolve("master.key");
    MasterKey.generate(new SecureRandom()).store(file);
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString(mode));

    assertThatThrownBy(() -> MasterKey.load(file))
        .isInstanceOf(IOException.class)
        .hasMessageContaining(mode)
        .hasMessageContaining("chmod 600");
  }

  @Test
  void acceptsAReadOnlyOwnerFile() throws Exception {
    Path file = dir.resolve("master.key");
    MasterKey key = MasterKey.generate(new SecureRandom());
    key.store(file);
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("r--------"));

    assertThat(MasterKey.load(file).keyId()).isEqualTo(key.keyId());
  }

  @Test
  void neverOverwritesAKey() throws Exception {
    Path file = dir.resolve("master.key");
    MasterKey first = MasterKey.generate(new SecureRandom());
    first.store(file);

    assertThatThrownBy(() -> MasterKey.generate(new SecureRandom()).store(file))
        .isInstanceOf(FileAlreadyExistsException.class);
    assertThat(MasterKey.load(file).keyId()).isEqualTo(first.keyId());
  }

  @Test
  void refusesFilesThatDoNotHoldAKey() throws Exception {
    Path notBase64 = ownerOnlyFile("a", "this is not a key\n");
    Path wrongLength = ownerOnlyFile("b", Base64.getEncoder().encodeToString(new byte[16]));
    Path tooLarge = ownerOnlyFile("c", "A".repeat(MasterKey.FILE_BYTES_MAX + 1));

    assertThatThrownBy(() -> MasterKey.load(notBase64)).hasMessageContaining("base64");
    assertThatThrownBy(() -> MasterKey.load(wrongLength)).hasMessageContaining("16 bytes");
    assertThatThrownBy(() -> MasterKey.load(tooLarge)).hasMessageContaining("larger than");
  }

  @Test
  void toStringShowsOnlyTheKeyId() throws Exception {
    byte[] raw = new byte[MasterKey.KEY_BYTES];
    new SecureRandom().nextBytes(raw);
    MasterKey key = MasterKey.of(raw);

    assertThat(key.toString()).isEqualTo("MasterKey[keyId=" + key.keyId() + "]")
        .doesNotContain(Base64.getEncoder().encodeToString(raw))
        .doesNotContain(java.util.HexFormat.of().formatHex(raw));
    assertThat(MasterKey.of(raw).keyId()).isEqualTo(key.keyId());
  }

  private Path ownerOnlyFile(String name, String content) throws IOException {
    Path file = Files.createFile(dir.resolve(name),
        PosixFilePermissions.asFileAttribute(MasterKey.FILE_PERMISSIONS));
    Files.writeString(file, content);
    return file;
  }

  private static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }
}
