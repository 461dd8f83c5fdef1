package org.apsara.security.tls;

import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * The files one TLS endpoint uses: its own certificate chain and private key (its identity), and
 * the CA certificates it trusts to verify the other side.
 *
 * <p>Either part may be absent: a client that only checks the server has no identity; a server
 * that does not ask for client certificates needs no trusted CA. A certificate without its key,
 * or a key without its certificate, is refused. The files are read when a TLS context is built
 * ({@link TlsContexts}), not here.
 *
 * <p>Immutable and thread-safe.
 */
public final class TlsMaterial {
  private final Path certChainFile;
  private final Path keyFile;
  private final Path trustedCaFile;

  private TlsMaterial(Path certChainFile, Path keyFile, Path trustedCaFile) {
    if ((certChainFile == null) != (keyFile == null)) {
      throw new IllegalArgumentException(certChainFile == null
          ? "a key file is given without its certificate file"
          : "a certificate file is given without its key file");
    }
    if (certChainFile == null && trustedCaFile == null) {
      throw new IllegalArgumentException(
          "TLS needs a certificate and key, a trusted CA file, or both");
    }
    this.certChainFile = certChainFile;
    this.keyFile = keyFile;
    this.trustedCaFile = trustedCaFile;
  }

  /**
   * Material from optional parts, as command-line options give them.
   *
   * @param certChainFile PEM certificate chain, leaf first; or {@code null}
   * @param keyFile PEM private key of the leaf; {@code null} exactly when {@code certChainFile} is
   * @param trustedCaFile PEM CA certificates to verify the peer with; or {@code null}
   * @throws IllegalArgumentException if only one of certificate and key is given, or nothing
   */
  public static TlsMaterial of(Path certChainFile, Path keyFile, Path trustedCaFile) {
    return new TlsMaterial(certChainFile, keyFile, trustedCaFile);
  }

  /** Material with an identity and a trusted CA, as each side of mutual TLS has. */
  public static TlsMaterial mutual(Path certChainFile, Path keyFile, Path trustedCaFile) {
    return new TlsMaterial(Objects.requireNonNull(certChainFile, "certChainFile"),
        Objects.requireNonNull(keyFile, "keyFile"),
        Objects.requireNonNull(trustedCaFile, "trustedCaFile"));
  }

  /** Material of a client that checks the server against a CA and presents no certificate. */
  public static TlsMaterial trusting(Path trustedCaFile) {
    return new TlsMaterial(null, null, Objects.requireNonNull(trustedCaFile, "trustedCaFile"));
  }

  /** The PEM certificate chain, leaf first, if this endpoint has an identity. */
  public Optional<Path> certChainFile() {
    return Optional.ofNullable(certChainFile);
  }

  /** The PEM private key matching {@link #certChainFile()}'s leaf, if this endpoint has one. */
  public Optional<Path> keyFile() {
    return Optional.ofNullable(keyFile);
  }

  /** The PEM CA certificates that verify the other side, if given. */
  public Optional<Path> trustedCaFile() {
    return Optional.ofNullable(trustedCaFile);
  }

  /** Whether this endpoint has a certificate and key to present. */
  public boolean hasIdentity() {
    return certChainFile != null;
  }

  /** The same identity, trusting another CA file. */
  public TlsMaterial withTrustedCaFile(Path trustedCaFile) {
    return new TlsMaterial(certChainFile, keyFile, trustedCaFile);
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof TlsMaterial that
        && Objects.equals(certChainFile, that.certChainFile)
        && Objects.equals(keyFile, that.keyFile)
        && Objects.equals(trustedCaFile, that.trustedCaFile);
  }

  @Override
  public int hashCode() {
    return Objects.hash(certChainFile, keyFile, trustedCaFile);
  }

  @Override
  public String toString() {
    return "TlsMaterial[cert=" + certChainFile + ", key=" + keyFile + ", trustedCa="
        + trustedCaFile + "]";
  }
}
