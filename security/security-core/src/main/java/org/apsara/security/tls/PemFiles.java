package org.apsara.security.tls;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.openssl.PEMEncryptedKeyPair;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;
import org.bouncycastle.util.io.pem.PemObject;
import org.bouncycastle.util.io.pem.PemWriter;

/**
 * Reads and writes the PEM files of certificates and private keys.
 *
 * <p>Certificates are written as {@code CERTIFICATE} blocks, keys as unencrypted PKCS#8
 * {@code PRIVATE KEY} blocks. Reading also accepts the {@code EC PRIVATE KEY} and
 * {@code RSA PRIVATE KEY} forms openssl writes, so that certificates made with other tools work;
 * encrypted keys are refused (nothing could ask for their passphrase).
 *
 * <p>Files are written whole or not at all: the content goes to a temporary file in the same
 * directory, is forced to disk, and is then linked to its name, which fails if the name exists.
 * A file is therefore never overwritten, and a reader never sees half of one.
 *
 * <p>Stateless and thread-safe.
 */
public final class PemFiles {
  /** Largest PEM file read; a certificate chain of a few certificates takes a few KiB. */
  public static final int FILE_BYTES_MAX = 1024 * 1024;
  /** Mode of private key files: read and write for the owner only. */
  public static final Set<PosixFilePermission> KEY_FILE_PERMISSIONS =
      Set.copyOf(EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE));
  /** Mode of certificate files: certificates are public. */
  public static final Set<PosixFilePermission> CERTIFICATE_FILE_PERMISSIONS =
      Set.copyOf(EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE,
          PosixFilePermission.GROUP_READ, PosixFilePermission.OTHERS_READ));

  private PemFiles() {}

  /**
   * Reads every certificate of a PEM file, in file order (a chain: the leaf first).
   *
   * @throws IOException if the file is missing, too large, holds no certificate, or holds
   *     something that is not a certificate
   */
  public static List<X509Certificate> readCertificates(Path file) throws IOException {
    List<Object> objects = readObjects(file, "certificate");
    List<X509Certificate> certificates = new ArrayList<>();
    JcaX509CertificateConverter converter = new JcaX509CertificateConverter();
    for (Object object : objects) {
      if (!(object instanceof X509CertificateHolder holder)) {
        throw new IOException("certificate file " + file + " holds a "
            + describe(object) + " where a certificate was expected");
      }
      try {
        certificates.add(converter.getCertificate(holder));
      } catch (CertificateException e) {
        throw new IOException("certificate file " + file + " holds a certificate that cannot be"
            + " decoded: " + e.getMessage(), e);
      }
    }
    if (certificates.isEmpty()) {
      throw new IOException("certificate file " + file + " holds no PEM certificate"
          + " (-----BEGIN CERTIFICATE-----)");
    }
    return List.copyOf(certificates);
  }

  /**
   * Reads the one private key of a PEM file.
   *
   * @throws IOException if the file is missing, too large, holds no key, more than one, an
   *     encrypted one, or something else
   */
  public static PrivateKey readPrivateKey(Path file) throws IOException {
    List<Object> objects = readObjects(file, "private key");
    if (objects.size() != 1) {
      throw new IOException("private key file " + file + " holds " + objects.size()
          + " PEM blocks; it must hold exactly one private key");
    }
    Object object = objects.get(0);
    JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
    try {
      if (object instanceof PrivateKeyInfo info) {
        return converter.getPrivateKey(info);
      }
      if (object instanceof PEMKeyPair pair) {
        // The private half alone: a SEC1 key need not carry its public key.
        return converter.getPrivateKey(pair.getPrivateKeyInfo());
      }
    } catch (IOException e) {
      throw new IOException("private key file " + file + " holds a key that cannot be decoded: "
          + e.getMessage(), e);
    }
    if (object instanceof PEMEncryptedKeyPair || object instanceof PKCS8EncryptedPrivateKeyInfo) {
      throw new IOException("private key file " + file + " holds an encrypted key;"
          + " only unencrypted keys are supported (protect the file with mode 0600)");
    }
    throw new IOException("private key file " + file + " holds a " + describe(object)
        + " where a private key was expected");
  }

  /** The PEM text of certificates, the first one first. */
  public static String certificatesToPem(List<X509Certificate> certificates) {
    StringWriter text = new StringWriter();
    try (PemWriter writer = new PemWriter(text)) {
      for (X509Certificate certificate : certificates) {
        writer.writeObject(new PemObject("CERTIFICATE", certificate.getEncoded()));
      }
    } catch (IOException e) {
      throw new UncheckedIOException("writing to a string cannot fail", e);
    } catch (java.security.cert.CertificateEncodingException e) {
      throw new IllegalArgumentException("certificate cannot be encoded", e);
    }
    return text.toString();
  }

  /** The PEM text of a private key in unencrypted PKCS#8. */
  public static String privateKeyToPem(PrivateKey key) {
    if (!"PKCS#8".equals(key.getFormat())) {
      throw new IllegalArgumentException("key encodes as " + key.getFormat() + ", not PKCS#8");
    }
    StringWriter text = new StringWriter();
    try (PemWriter writer = new PemWriter(text)) {
      writer.writeObject(new PemObject("PRIVATE KEY", key.getEncoded()));
    } catch (IOException e) {
      throw new UncheckedIOException("writing to a string cannot fail", e);
    }
    return text.toString();
  }

  /**
   * Writes a new file with the given content and permissions, atomically, and forces it and its
   * directory to disk.
   *
   * @throws FileAlreadyExistsException if {@code file} exists; it is left as it was
   */
  public static void writeNew(Path file, String content, Set<PosixFilePermission> permissions)
      throws IOException {
    Path directory = file.toAbsolutePath().getParent();
    Path temporary = Files.createTempFile(directory, "." + file.getFileName() + ".", ".tmp",
        PosixFilePermissions.asFileAttribute(permissions));
    try {
      try (FileChannel channel = FileChannel.open(temporary, StandardOpenOption.WRITE)) {
        ByteBuffer buffer = ByteBuffer.wrap(content.getBytes(StandardCharsets.US_ASCII));
        while (buffer.hasRemaining()) {
          channel.write(buffer);
        }
        channel.force(true);
      }
      // A hard link, unlike a rename, fails when the name exists: no overwrite, even in a race.
      Files.createLink(file, temporary);
    } finally {
      Files.deleteIfExists(temporary);
    }
    try (FileChannel channel = FileChannel.open(directory, StandardOpenOption.READ)) {
      channel.force(true);
    }
  }

  private static List<Object> readObjects(Path file, String what) throws IOException {
    long size;
    try {
      size = Files.size(file);
    } catch (NoSuchFileException e) {
      throw new IOException(what + " file " + file + " does not exist", e);
    }
    if (size > FILE_BYTES_MAX) {
      throw new IOException(what + " file " + file + " has " + size + " bytes, more than the "
          + FILE_BYTES_MAX + " a PEM file may have");
    }
    String text = Files.readString(file, StandardCharsets.ISO_8859_1);
    List<Object> objects = new ArrayList<>();
    try (PEMParser parser = new PEMParser(new StringReader(text))) {
      for (Object object = parser.readObject(); object != null; object = parser.readObject()) {
        objects.add(object);
      }
    } catch (IOException | RuntimeException e) {
      // Bouncy Castle reports garbled base64 or DER as IOException or as runtime exceptions.
      throw new IOException(what + " file " + file + " is not valid PEM: " + e.getMessage(), e);
    }
    if (objects.isEmpty()) {
      throw new IOException(what + " file " + file + " holds no PEM block");
    }
    return objects;
  }

  private static String describe(Object object) {
    if (object instanceof X509CertificateHolder) {
      return "certificate";
    }
    if (object instanceof PrivateKeyInfo || object instanceof PEMKeyPair
        || object instanceof PEMEncryptedKeyPair || object instanceof PKCS8EncryptedPrivateKeyInfo) {
      return "private key";
    }
    return "PEM block of type " + object.getClass().getSimpleName();
  }
}
