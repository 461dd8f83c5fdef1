package org.apsara.security.crypto;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.Set;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The cluster's 256-bit master key, which encrypts secrets at rest ({@link SecretBox}).
 *
 * <p>The key file holds the key in base64 on one line and must be accessible to its owner only
 * (mode 0600): {@link #store} creates it so, and {@link #load} refuses a file that group or others
 * could read, write or execute, the way ssh refuses a private key.
 *
 * <p>Each key has a {@link #keyId()}, a fingerprint derived from the key that reveals nothing of
 * it, so that a ciphertext can say which key sealed it.
 *
 * <p>Immutable and thread-safe. {@link #toString()} shows only the key id.
 */
public final class MasterKey {
  /** Length of the key: AES-256. */
  public static final int KEY_BYTES = 32;
  /** Length of the key id in bytes; it is shown as twice as many hex digits. */
  public static final int KEY_ID_BYTES = 4;
  /** The only permissions a key file may have: read and write for its owner. */
  public static final Set<PosixFilePermission> FILE_PERMISSIONS =
      Set.copyOf(EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE));
  /** Largest key file read; a valid one has 45 bytes. */
  public static final int FILE_BYTES_MAX = 256;

  private static final byte[] KEY_ID_LABEL =
      "apsara master key id".getBytes(StandardCharsets.US_ASCII);

  private final SecretKeySpec key;
  private final byte[] keyId;

  private MasterKey(byte[] key) {
    if (key.length != KEY_BYTES) {
      throw new IllegalArgumentException("a master key has " + KEY_BYTES + " bytes");
    }
    this.key = new SecretKeySpec(key, "AES");
    this.keyId = deriveKeyId(key);
  }

  /** A new random key. */
  public static MasterKey generate(SecureRandom random) {
    byte[] key = new byte[KEY_BYTES];
    random.nextBytes(key);
    return new MasterKey(key);
  }

  /** A key from its bytes (copied); for keys kept somewhere else than a key file. */
  public static MasterKey of(byte[] key) {
    return new MasterKey(key.clone());
  }

  /**
   * Reads a key file.
   *
   * @throws IOException if the file cannot be read, is accessible to group or others, is on a file
   *     system without POSIX permissions, or does not hold a key
   */
  public static MasterKey load(Path file) throws IOException {
    Set<PosixFilePermission> permissions;
    try {
      permissions = Files.getPosixFilePermissions(file);
    } catch (UnsupportedOperationException e) {
      throw new IOException("cannot check the permissions of master key file " + file
          + ": its file system has no POSIX permissions", e);
    }
    if (!FILE_PERMISSIONS.containsAll(permissions)) {
      throw new IOException("master key file " + file + " has mode "
          + PosixFilePermissions.toString(permissions)
          + "; it must be accessible to its owner only (chmod 600)");
    }
    if (Files.size(file) > FILE_BYTES_MAX) {
      throw new IOException("master key file " + file + " is larger than " + FILE_BYTES_MAX
          + " bytes; it is not a master key file");
    }
    String text = Files.readString(file, StandardCharsets.US_ASCII).trim();
    byte[] key;
    try {
      key = Base64.getDecoder().decode(text);
    } catch (IllegalArgumentException e) {
      throw new IOException("master key file " + file + " does not hold base64", e);
    }
    if (key.length != KEY_BYTES) {
      throw new IOException("master key file " + file + " holds " + key.length + " bytes, not "
          + KEY_BYTES);
    }
    return new MasterKey(key);
  }

  /**
   * Writes the key to a new file with mode 0600 and forces it to disk.
   *
   * @throws java.nio.file.FileAlreadyExistsException if the file exists: a key is never
   *     overwritten, since that would lose every secret sealed with the old one
   */
  public void store(Path file) throws IOException {
    Files.createFile(file, PosixFilePermissions.asFileAttribute(FILE_PERMISSIONS));
    byte[] line = (Base64.getEncoder().encodeToString(key.getEncoded()) + "\n")
        .getBytes(StandardCharsets.US_ASCII);
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ByteBuffer buffer = ByteBuffer.wrap(line);
      while (buffer.hasRemaining()) {
        channel.write(buffer);
      }
      channel.force(true);
    }
  }

  /** The key's fingerprint as hex digits; the same key always has the same id. */
  public String keyId() {
    return HexFormat.of().formatHex(keyId);
  }

  byte[] keyIdBytes() {
    return keyId.clone();
  }

  SecretKeySpec aesKey() {
    return key;
  }

  @Override
  public String toString() {
    return "MasterKey[keyId=" + keyId() + "]";
  }

  private static byte[] deriveKeyId(byte[] key) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      return Arrays.copyOf(mac.doFinal(KEY_ID_LABEL), KEY_ID_BYTES);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is required of every Java platform", e);
    }
  }
}
