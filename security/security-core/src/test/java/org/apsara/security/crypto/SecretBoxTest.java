package org.apsara.security.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import org.junit.jupiter.api.Test;

class SecretBoxTest {
  private static final byte[] SECRET = bytes("AccessKeySecretValue0123456789");
  private static final byte[] RECORD = bytes("accesskey/LTAIexample");

  private final MasterKey key = MasterKey.generate(new SecureRandom());
  private final SecretBox box = new SecretBox(key);

  @Test
  void roundTrip() throws Exception {
    byte[] sealed = box.encrypt(SECRET, RECORD);

    assertThat(sealed).hasSize(SecretBox.HEADER_BYTES + SECRET.length + SecretBox.TAG_BYTES);
    assertThat(sealed[0]).isEqualTo((byte) SecretBox.FORMAT_VERSION);
    assertThat(box.decrypt(sealed, RECORD)).isEqualTo(SECRET);
    assertThat(box.decrypt(box.encrypt(new byte[0], RECORD), RECORD)).isEmpty();
  }

  @Test
  void everyFlippedBitIsDetected() {
    byte[] sealed = box.encrypt(SECRET, RECORD);

    for (int i = 0; i < sealed.length; i++) {
      for (int bit = 0; bit < 8; bit++) {
        byte[] tampered = sealed.clone();
        tampered[i] ^= (byte) (1 << bit);
        assertThatThrownBy(() -> box.decrypt(tampered, RECORD))
            .as("byte %d bit %d", i, bit)
            .isInstanceOf(SecretBoxException.class);
      }
    }
  }

  @Test
  void aCiphertextCannotBeMovedToAnotherRecord() {
    byte[] sealed = box.encrypt(SECRET, RECORD);

    assertThatThrownBy(() -> box.decrypt(sealed, bytes("accesskey/LTAIother")))
        .isInstanceOf(SecretBoxException.class)
        .hasMessageContaining("another record");
  }

  @Test
  void anotherMasterKeyIsNamed() {
    byte[] sealed = box.encrypt(SECRET, RECORD);
    SecretBox other = new SecretBox(MasterKey.generate(new SecureRandom()));

    assertThatThrownBy(() -> other.decrypt(sealed, RECORD))
        .isInstanceOf(SecretBoxException.class)
        .hasMessageContaining("sealed with master key " + key.keyId());
  }

  @Test
  void truncatedOrForeignInputIsRejected() {
    byte[] sealed = box.encrypt(SECRET, RECORD);

    assertThatThrownBy(() -> box.decrypt(java.util.Arrays.copyOf(sealed, 20), RECORD))
        .isInstanceOf(SecretBoxException.class).hasMessageContaining("too short");
    byte[] otherVersion = sealed.clone();
    otherVersion[0] = 2;
    assertThatThrownBy(() -> box.decrypt(otherVersion, RECORD))
        .isInstanceOf(SecretBoxException.class).hasMessageContaining("format version 2");
  }

  @Test
  void everyEncryptionUsesAFreshIv() {
    byte[] first = box.encrypt(SECRET, RECORD);
    byte[] second = box.encrypt(SECRET, RECORD);

    assertThat(java.util.Arrays.copyOfRange(first, 5, SecretBox.HEADER_BYTES))
        .isNotEqualTo(java.util.Arrays.copyOfRange(second, 5, SecretBox.HEADER_BYTES));
    assertThat(first).isNotEqualTo(second);
  }

  @Test
  void plaintextSizeIsBounded() throws Exception {
    byte[] largest = new byte[SecretBox.PLAINTEXT_BYTES_MAX];

    assertThat(box.decrypt(box.encrypt(largest, RECORD), RECORD)).isEqualTo(largest);
    assertThatThrownBy(() -> box.encrypt(new byte[SecretBox.PLAINTEXT_BYTES_MAX + 1], RECORD))
        .isInstanceOf(IllegalArgumentException.class);
  }

  private static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }
}
