package org.apsara.security.token;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Base64;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The file holding the keys that capability tokens may be signed with, shared by the masters that
 * issue tokens and the chunkservers that check them.
 *
 * <p>Format: UTF-8 text, one key per line as {@code <key id> <secret>}, the secret being the
 * key's {@value TokenKey#SECRET_BYTES} bytes in standard base64; blank lines and lines starting
 * with {@code #} are ignored. Listing two keys lets a rotation proceed (see {@link
 * org.apsara.security.token.CapabilityTokenIssuer}): every token signed by either verifies. The
 * file must be accessible to its owner only (mode 0600), as ssh demands of a private key; {@link
 * #load} refuses it otherwise.
 *
 * <p>Stateless.
 */
public final class TokenKeyFile {
  /** Largest file read: far more than {@link #KEYS_MAX} lines need. */
  public static final int FILE_BYTES_MAX = 64 << 10;
  /** Most keys in one file; two are needed during a rotation. */
  public static final int KEYS_MAX = 16;
  /** The only permissions the file may have. */
  public static final Set<PosixFilePermission> FILE_PERMISSIONS =
      Set.copyOf(EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE));

  private TokenKeyFile() {}

  /**
   * Reads the keys of a token key file.
   *
   * @throws IOException naming the file and line if it cannot be read, is accessible to others,
   *     or does not hold 1 to {@link #KEYS_MAX} well-formed keys with distinct ids
   */
  public static List<TokenKey> load(Path file) throws IOException {
    if (!Files.isRegularFile(file)) {
      throw new IOException("token key file " + file + " does not exist or is not a file");
    }
    Set<PosixFilePermission> permissions;
    try {
      permissions = Files.getPosixFilePermissions(file);
    } catch (UnsupportedOperationException e) {
      throw new IOException("cannot check the permissions of token key file " + file
          + ": its file system has no POSIX permissions", e);
    }
    if (!FILE_PERMISSIONS.containsAll(permissions)) {
      throw new IOException("token key file " + file + " has mode "
          + PosixFilePermissions.toString(permissions)
          + "; it must be accessible to its owner only (chmod 600)");
    }
    if (Files.size(file) > FILE_BYTES_MAX) {
      throw new IOException("token key file " + file + " is larger than " + FILE_BYTES_MAX
          + " bytes; it is not a token key file");
    }
    List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    List<TokenKey> keys = new ArrayList<>();
    Set<String> ids = new HashSet<>();
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i).strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      String where = "token key file " + file + " line " + (i + 1);
      String[] fields = line.split("\\s+");
      if (fields.length != 2) {
        throw new IOException(where + ": expected '<key id> <base64 secret>'");
      }
      byte[] secret;
      try {
        secret = Base64.getDecoder().decode(fields[1]);
      } catch (IllegalArgumentException e) {
        throw new IOException(where + ": the secret is not base64");
      }
      if (secret.length != TokenKey.SECRET_BYTES) {
        throw new IOException(where + ": the secret has " + secret.length + " bytes, not "
            + TokenKey.SECRET_BYTES);
      }
      TokenKey key;
      try {
        key = TokenKey.of(fields[0], secret);
      } catch (IllegalArgumentException e) {
        throw new IOException(where + ": " + e.getMessage());
      }
      if (!ids.add(key.keyId())) {
        throw new IOException(where + ": key id " + key.keyId() + " is listed twice");
      }
      if (keys.size() == KEYS_MAX) {
        throw new IOException("token key file " + file + " holds more than " + KEYS_MAX
            + " keys");
      }
      keys.add(key);
    }
    if (keys.isEmpty()) {
      throw new IOException("token key file " + file + " holds no key");
    }
    return List.copyOf(keys);
  }

  /**
   * Writes {@code keys} to a new file with mode 0600.
   *
   * @throws java.nio.file.FileAlreadyExistsException if the file exists
   */
  public static void write(Path file, List<TokenKey> keys) throws IOException {
    if (keys.isEmpty() || keys.size() > KEYS_MAX) {
      throw new IllegalArgumentException("a token key file holds 1.." + KEYS_MAX + " keys");
    }
    StringBuilder text = new StringBuilder("# capability token keys: <key id> <base64 secret>\n");
    for (TokenKey key : keys) {
      text.append(key.keyId()).append(' ')
          .append(Base64.getEncoder().encodeToString(key.secret())).append('\n');
    }
    Files.createFile(file, PosixFilePermissions.asFileAttribute(FILE_PERMISSIONS));
    Files.writeString(file, text, StandardCharsets.UTF_8);
  }
}
