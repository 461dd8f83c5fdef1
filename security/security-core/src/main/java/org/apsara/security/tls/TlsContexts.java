package org.apsara.security.tls;

import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import java.io.IOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.SSLException;

/**
 * TLS contexts for gRPC over Netty (grpc-netty-shaded), built from {@link TlsMaterial}: pass them
 * to {@code NettyServerBuilder.sslContext} and {@code NettyChannelBuilder.sslContext}.
 *
 * <p>The files are read and checked here, once: a missing or garbled file, or a key that does not
 * belong to its certificate, fails with an {@link IOException} that names the file, rather than
 * with a handshake error later. A client verifies the server's certificate against the trusted CA
 * (or the platform's trust store, when none is given) and checks that it names the host it
 * dialed (a DNS or IP subject alternative name), as etcd's clients do.
 *
 * <p>Stateless and thread-safe; the contexts built are immutable and may be shared.
 */
public final class TlsContexts {
  private TlsContexts() {}

  /**
   * A server context presenting {@code material}'s identity.
   *
   * @param clientAuth whether clients must, may or need not present a certificate; anything but
   *     {@link ClientAuth#NONE} needs a trusted CA to verify them with
   * @throws IOException if a file cannot be read or the key does not match the certificate
   * @throws IllegalArgumentException if the material has no identity, or client certificates
   *     are asked for without a trusted CA
   */
  public static SslContext forServer(TlsMaterial material, ClientAuth clientAuth)
      throws IOException {
    if (!material.hasIdentity()) {
      throw new IllegalArgumentException("a TLS server needs a certificate and key file");
    }
    if (clientAuth != ClientAuth.NONE && material.trustedCaFile().isEmpty()) {
      throw new IllegalArgumentException(
          "client certificate authentication needs a trusted CA file");
    }
    Identity identity = readIdentity(material);
    SslContextBuilder builder = SslContextBuilder.forServer(identity.key(),
        identity.chain().toArray(X509Certificate[]::new));
    if (material.trustedCaFile().isPresent()) {
      builder.trustManager(readTrusted(material.trustedCaFile().get()));
    }
    builder.clientAuth(switch (clientAuth) {
      case NONE -> io.grpc.netty.shaded.io.netty.handler.ssl.ClientAuth.NONE;
      case OPTIONAL -> io.grpc.netty.shaded.io.netty.handler.ssl.ClientAuth.OPTIONAL;
      case REQUIRE -> io.grpc.netty.shaded.io.netty.handler.ssl.ClientAuth.REQUIRE;
    });
    return build(GrpcSslContexts.configure(builder), material);
  }

  /**
   * A client context that verifies servers against {@code material}'s trusted CA (the platform's
   * trust store when it has none) and presents its identity, if it has one, to servers that ask.
   *
   * @throws IOException if a file cannot be read or the key does not match the certificate
   */
  public static SslContext forClient(TlsMaterial material) throws IOException {
    SslContextBuilder builder = GrpcSslContexts.forClient();
    if (material.trustedCaFile().isPresent()) {
      builder.trustManager(readTrusted(material.trustedCaFile().get()));
    }
    if (material.hasIdentity()) {
      Identity identity = readIdentity(material);
      builder.keyManager(identity.key(), identity.chain().toArray(X509Certificate[]::new));
    }
    return build(builder, material);
  }

  /**
   * Reads the certificate chain and key of {@code material} and checks that the key is the
   * leaf's; for transports that take keys and certificates rather than these contexts.
   *
   * @throws IOException if a file cannot be read or the key does not match the certificate
   * @throws java.util.NoSuchElementException if the material has no identity
   */
  public static Identity readIdentity(TlsMaterial material) throws IOException {
    Path certFile = material.certChainFile().orElseThrow();
    Path keyFile = material.keyFile().orElseThrow();
    List<X509Certificate> chain = PemFiles.readCertificates(certFile);
    PrivateKey key = PemFiles.readPrivateKey(keyFile);
    if (!keyMatches(key, chain.get(0))) {
      throw new IOException("private key file " + keyFile + " does not hold the key of the"
          + " certificate in " + certFile);
    }
    return new Identity(chain, key);
  }

  /**
   * A certificate chain (leaf first) with the leaf's private key.
   *
   * @param chain the certificates, leaf first, never empty
   * @param key the leaf's private key
   */
  public record Identity(List<X509Certificate> chain, PrivateKey key) {}

  /**
   * Reads the trusted CA certificates of {@code material}.
   *
   * @throws IOException if the file cannot be read or holds no certificate
   * @throws java.util.NoSuchElementException if the material has no trusted CA file
   */
  public static List<X509Certificate> readTrustedCertificates(TlsMaterial material)
      throws IOException {
    return PemFiles.readCertificates(material.trustedCaFile().orElseThrow());
  }

  private static X509Certificate[] readTrusted(Path file) throws IOException {
    return PemFiles.readCertificates(file).toArray(X509Certificate[]::new);
  }

  /** Signs a probe with the key and verifies it with the certificate: works for EC and RSA. */
  private static boolean keyMatches(PrivateKey key, X509Certificate certificate)
      throws IOException {
    if (!key.getAlgorithm().equals(certificate.getPublicKey().getAlgorithm())) {
      return false;
    }
    String algorithm = switch (key.getAlgorithm()) {
      case "EC" -> "SHA256withECDSA";
      case "RSA" -> "SHA256withRSA";
      case "Ed25519", "EdDSA" -> "Ed25519";
      default -> throw new IOException("unsupported private key algorithm " + key.getAlgorithm());
    };
    byte[] probe = "apsara tls key check".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    try {
      Signature signer = Signature.getInstance(algorithm);
      signer.initSign(key);
      signer.update(probe);
      byte[] signature = signer.sign();
      Signature verifier = Signature.getInstance(algorithm);
      verifier.initVerify(certificate.getPublicKey());
      verifier.update(probe);
      return verifier.verify(signature);
    } catch (GeneralSecurityException e) {
      return false;
    }
  }

  private static SslContext build(SslContextBuilder builder, TlsMaterial material)
      throws IOException {
    try {
      return builder.build();
    } catch (SSLException e) {
      throw new IOException("cannot build a TLS context from " + material + ": "
          + e.getMessage(), e);
    }
  }
}
