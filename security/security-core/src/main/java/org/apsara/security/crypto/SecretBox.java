package org.apsara.security.crypto;

import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;

/**
 * Encrypts secrets at rest with the master key: AES-256-GCM with a random 96-bit IV.
 *
 * <p>A sealed secret is {@code version (1 byte) | master key id (4) | IV (12) | ciphertext | tag
 * (16)}. The version and key id are authenticated along with the caller's associated data, which
 * should name the record the secret belongs to (for example {@code accesskey/LTAI...}): a
 * ciphertext copied to another record then fails to open, as does any changed byte.
 *
 * <p>Random IVs are safe for up to 2^32 encryptions under one master key (NIST SP 800-38D), far
 * more secrets than a cluster stores.
 *
 * <p>Thread-safe: a cipher is created per operation.
 */
public final class SecretBox {
  /** The format this build writes and reads. */
  public static final int FORMAT_VERSION = 1;
  public static final int IV_BYTES = 12;
  public static final int TAG_BYTES = 16;
  /** Bytes before the ciphertext: version, key id and IV. */
  public static final int HEADER_BYTES = 1 + MasterKey.KEY_ID_BYTES + IV_BYTES;
  /** Largest secret sealed; secrets are keys and passwords, not documents. */
  public static final int PLAINTEXT_BYTES_MAX = 64 * 1024;

  private static final String TRANSFORMATION = "AES/GCM/NoPadding";

  private final MasterKey masterKey;
  private final SecureRandom random;

  public SecretBox(MasterKey masterKey) {
    this(masterKey, new SecureRandom());
  }

  public SecretBox(MasterKey masterKey, SecureRandom random) {
    this.masterKey = Objects.requireNonNull(masterKey, "masterKey");
    this.random = Objects.requireNonNull(random, "random");
  }

  /**
   * Seals {@code plaintext}, bound to {@code associatedData}.
   *
   * @throws IllegalArgumentException if the plaintext is larger than {@link #PLAINTEXT_BYTES_MAX}
   */
  public byte[] encrypt(byte[] plaintext, byte[] associatedData) {
    if (plaintext.length > PLAINTEXT_BYTES_MAX) {
      throw new IllegalArgumentException(
          "a secret has at most " + PLAINTEXT_BYTES_MAX + " bytes, not " + plaintext.length);
    }
    byte[] iv = new byte[IV_BYTES];
    random.nextBytes(iv);
    ByteBuffer out = ByteBuffer.allocate(HEADER_BYTES + plaintext.length + TAG_BYTES);
    out.put((byte) FORMAT_VERSION).put(masterKey.keyIdBytes()).put(iv);
    try {
      Cipher cipher = cipher(Cipher.ENCRYPT_MODE, iv, associatedData);
      cipher.doFinal(ByteBuffer.wrap(plaintext), out);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM is required of every Java platform", e);
    }
    return out.array();
  }

  /**
   * Opens a sealed secret.
   *
   * @throws SecretBoxException if it was altered, sealed with other associated data or another
   *     master key, or is not a sealed secret
   */
  public byte[] decrypt(byte[] sealed, byte[] associatedData) throws SecretBoxException {
    if (sealed.length < HEADER_BYTES + TAG_BYTES) {
      throw new SecretBoxException("not a sealed secret: " + sealed.length + " bytes is too short");
    }
    int version = sealed[0] & 0xFF;
    if (version != FORMAT_VERSION) {
      throw new SecretBoxException("the secret was sealed in format version " + version
          + "; this build reads version " + FORMAT_VERSION);
    }
    byte[] keyId = Arrays.copyOfRange(sealed, 1, 1 + MasterKey.KEY_ID_BYTES);
    if (!Arrays.equals(keyId, masterKey.keyIdBytes())) {
      throw new SecretBoxException("the secret was sealed with master key "
          + HexFormat.of().formatHex(keyId) + ", not with this one (" + masterKey.keyId() + ")");
    }
    byte[] iv = Arrays.copyOfRange(sealed, 1 + MasterKey.KEY_ID_BYTES, HEADER_BYTES);
    try {
      Cipher cipher = cipher(Cipher.DECRYPT_MODE, iv, associatedData);
      return cipher.doFinal(sealed, HEADER_BYTES, sealed.length - HEADER_BYTES);
    } catch (AEADBadTagException e) {
      throw new SecretBoxException("the sealed secret was altered, or belongs to another record"
          + " (its associated data differs)", e);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM is required of every Java platform", e);
    }
  }

  private Cipher cipher(int mode, byte[] iv, byte[] associatedData)
      throws GeneralSecurityException {
    Cipher cipher = Cipher.getInstance(TRANSFORMATION);
    cipher.init(mode, masterKey.aesKey(), new GCMParameterSpec(TAG_BYTES * 8, iv));
    // The header is authenticated too, so that the version and key id cannot be swapped.
    cipher.updateAAD(new byte[] {(byte) FORMAT_VERSION});
    cipher.updateAAD(masterKey.keyIdBytes());
    cipher.updateAAD(associatedData);
    return cipher;
  }
}
