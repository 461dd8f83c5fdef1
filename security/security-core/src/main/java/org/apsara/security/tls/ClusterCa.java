package org.apsara.security.tls;

import java.io.IOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * The cluster's certificate authority: a self-signed CA certificate and its key, kept in one
 * directory as {@value #CERT_FILE} and {@value #KEY_FILE}, that issues each service a certificate
 * for mutual TLS.
 *
 * <p>Keys are ECDSA on P-256. The CA certificate is valid for {@link #CA_VALIDITY} and may sign
 * certificates only (basicConstraints CA with path length 0, keyUsage keyCertSign and cRLSign).
 * Leaf certificates carry the names of a {@link LeafSpec}, may serve and call (extended key usage
 * serverAuth and clientAuth), and never outlive the CA. Every certificate starts
 * {@link #BACKDATE} before its issue, so that a member whose clock is a little behind accepts it.
 *
 * <p>Files are written atomically and never overwritten ({@link PemFiles#writeNew}); keys with
 * mode 0600. {@link #load} refuses a CA key that group or others could read, as ssh refuses a
 * private key.
 *
 * <p>Thread-safe: the CA's state is immutable; concurrent {@link #issue} calls for different names
 * are independent, and for the same name one wins and the others fail.
 */
public final class ClusterCa {
  /** File name of the CA certificate; the file every member and client trusts. */
  public static final String CERT_FILE = "ca.crt";
  /** File name of the CA's private key; it never leaves the directory it was created in. */
  public static final String KEY_FILE = "ca.key";
  /** How long the CA certificate is valid: ten years, so that a cluster outlives its hardware. */
  public static final Duration CA_VALIDITY = Duration.ofDays(3650);
  /** How far before its issue a certificate becomes valid, to allow for clock skew. */
  public static final Duration BACKDATE = Duration.ofMinutes(5);
  /** Size of a certificate's random serial number: 127 bits, positive, as RFC 5280 allows. */
  public static final int SERIAL_BITS = 127;
  /** Named curve of every key: P-256, which Go, Java and OpenSSL all support. */
  public static final String CURVE = "secp256r1";
  /** Signature algorithm of every certificate. */
  public static final String SIGNATURE_ALGORITHM = "SHA256withECDSA";

  private static final String ORGANIZATION = "Apsara";

  private final Path directory;
  private final X509Certificate certificate;
  private final PrivateKey key;
  private final Clock clock;
  private final SecureRandom random;

  private ClusterCa(Path directory, X509Certificate certificate, PrivateKey key, Clock clock,
      SecureRandom random) {
    this.directory = directory;
    this.certificate = certificate;
    this.key = key;
    this.clock = clock;
    this.random = random;
  }

  /**
   * Creates a new CA in {@code directory} (created if missing), with a fresh key and a common
   * name that includes a random suffix, so that the CAs of two clusters are told apart in error
   * messages.
   *
   * @throws java.nio.file.FileAlreadyExistsException if either file exists; nothing is changed
   */
  public static ClusterCa create(Path directory, Clock clock) throws IOException {
    SecureRandom random = new SecureRandom();
    Files.createDirectories(directory);
    Path certFile = directory.resolve(CERT_FILE);
    Path keyFile = directory.resolve(KEY_FILE);
    for (Path file : List.of(certFile, keyFile)) {
      if (Files.exists(file)) {
        throw new java.nio.file.FileAlreadyExistsException(file.toString(), null,
            "a cluster CA exists already; it is never overwritten");
      }
    }
    KeyPair pair = generateKeyPair(random);
    byte[] suffix = new byte[4];
    random.nextBytes(suffix);
    X500Name subject = new X500NameBuilder(BCStyle.INSTANCE)
        .addRDN(BCStyle.O, ORGANIZATION)
        .addRDN(BCStyle.CN, "apsara-cluster-ca-" + HexFormat.of().formatHex(suffix))
        .build();
    Instant now = clock.instant();
    X509Certificate certificate;
    try {
      JcaX509ExtensionUtils extensions = new JcaX509ExtensionUtils();
      X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(subject,
          serial(random), Date.from(now.minus(BACKDATE)), Date.from(now.plus(CA_VALIDITY)),
          subject, pair.getPublic())
          .addExtension(Extension.basicConstraints, true, new BasicConstraints(0))
          .addExtension(Extension.keyUsage, true,
              new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign | KeyUsage.digitalSignature))
          .addExtension(Extension.subjectKeyIdentifier, false,
              extensions.createSubjectKeyIdentifier(pair.getPublic()));
      certificate = sign(builder, pair.getPrivate());
    } catch (GeneralSecurityException | CertIOException e) {
      throw new IllegalStateException("cannot build the CA certificate", e);
    }
    // The key first: a crash in between leaves a key without certificate, which load() reports
    // and create() refuses to overwrite, rather than a certificate nobody can sign for.
    PemFiles.writeNew(keyFile, PemFiles.privateKeyToPem(pair.getPrivate()),
        PemFiles.KEY_FILE_PERMISSIONS);
    try {
      PemFiles.writeNew(certFile, PemFiles.certificatesToPem(List.of(certificate)),
          PemFiles.CERTIFICATE_FILE_PERMISSIONS);
    } catch (IOException e) {
      Files.deleteIfExists(keyFile);
      throw e;
    }
    return new ClusterCa(directory, certificate, pair.getPrivate(), clock, random);
  }

  /** {@link #create(Path, Clock)} with the system clock. */
  public static ClusterCa create(Path directory) throws IOException {
    return create(directory, Clock.systemUTC());
  }

  /**
   * Loads the CA of {@code directory}.
   *
   * @throws IOException if a file is missing or garbled, the key file is accessible to group or
   *     others, the certificate is not a CA certificate, or the key is not the certificate's
   */
  public static ClusterCa load(Path directory, Clock clock) throws IOException {
    Path certFile = directory.resolve(CERT_FILE);
    Path keyFile = directory.resolve(KEY_FILE);
    boolean certExists = Files.exists(certFile);
    boolean keyExists = Files.exists(keyFile);
    if (!certExists || !keyExists) {
      throw new IOException(!certExists && !keyExists
          ? "no cluster CA in " + directory + " (neither " + CERT_FILE + " nor " + KEY_FILE + ")"
          : "incomplete cluster CA in " + directory + ": " + (certExists ? KEY_FILE : CERT_FILE)
              + " is missing");
    }
    checkKeyPermissions(keyFile);
    TlsContexts.Identity identity = TlsContexts.readIdentity(TlsMaterial.of(certFile, keyFile,
        null));
    X509Certificate certificate = identity.chain().get(0);
    if (certificate.getBasicConstraints() < 0) {
      throw new IOException("certificate file " + certFile + " does not hold a CA certificate");
    }
    return new ClusterCa(directory, certificate, identity.key(), clock, new SecureRandom());
  }

  /** {@link #load(Path, Clock)} with the system clock. */
  public static ClusterCa load(Path directory) throws IOException {
    return load(directory, Clock.systemUTC());
  }

  /**
   * Loads the CA of {@code directory}, or creates it if the directory has neither file (a first
   * start). A directory with only one of them is an error, not a reason to start over.
   */
  public static ClusterCa loadOrCreate(Path directory, Clock clock) throws IOException {
    if (!Files.exists(directory.resolve(CERT_FILE)) && !Files.exists(directory.resolve(KEY_FILE))) {
      return create(directory, clock);
    }
    return load(directory, clock);
  }

  /** {@link #loadOrCreate(Path, Clock)} with the system clock. */
  public static ClusterCa loadOrCreate(Path directory) throws IOException {
    return loadOrCreate(directory, Clock.systemUTC());
  }

  /** The CA's directory. */
  public Path directory() {
    return directory;
  }

  /** The CA certificate's file, the one to trust ({@code --trusted-ca-file}, {@code --cacert}). */
  public Path certificateFile() {
    return directory.resolve(CERT_FILE);
  }

  /** The CA certificate. */
  public X509Certificate certificate() {
    return certificate;
  }

  /**
   * Issues a certificate for {@code spec} with a fresh key and writes it to
   * {@code outDirectory} (created if missing) as {@code <name>.crt} and {@code <name>.key} (mode
   * 0600). Its validity ends at {@code spec.validity()} from now or at the CA's end, whichever is
   * first.
   *
   * @return the files: the new certificate and key, trusting this CA's certificate file
   * @throws java.nio.file.FileAlreadyExistsException if either file exists; nothing is changed
   * @throws IllegalStateException if the CA certificate has expired
   */
  public TlsMaterial issue(LeafSpec spec, Path outDirectory) throws IOException {
    Files.createDirectories(outDirectory);
    Path certFile = outDirectory.resolve(spec.name() + ".crt");
    Path keyFile = outDirectory.resolve(spec.name() + ".key");
    for (Path file : List.of(certFile, keyFile)) {
      if (Files.exists(file)) {
        throw new java.nio.file.FileAlreadyExistsException(file.toString(), null,
            "a certificate named " + spec.name() + " exists already; remove it to issue anew");
      }
    }
    KeyPair pair = generateKeyPair(random);
    X509Certificate leaf = sign(spec, pair);
    PemFiles.writeNew(keyFile, PemFiles.privateKeyToPem(pair.getPrivate()),
        PemFiles.KEY_FILE_PERMISSIONS);
    try {
      PemFiles.writeNew(certFile, PemFiles.certificatesToPem(List.of(leaf)),
          PemFiles.CERTIFICATE_FILE_PERMISSIONS);
    } catch (IOException e) {
      Files.deleteIfExists(keyFile);
      throw e;
    }
    return TlsMaterial.mutual(certFile, keyFile, certificateFile());
  }

  /**
   * Whether {@code certificate} was signed by this CA and is valid now and for at least
   * {@code remaining} more; for reusing an issued certificate instead of issuing anew.
   */
  public boolean verifies(X509Certificate certificate, Duration remaining) {
    try {
      certificate.verify(this.certificate.getPublicKey());
      Instant now = clock.instant();
      certificate.checkValidity(Date.from(now));
      certificate.checkValidity(Date.from(now.plus(remaining)));
      return true;
    } catch (GeneralSecurityException e) {
      return false;
    }
  }

  /** Builds and signs a leaf certificate; nothing is written. */
  X509Certificate sign(LeafSpec spec, KeyPair pair) {
    Instant now = clock.instant();
    Instant caEnd = certificate.getNotAfter().toInstant();
    if (!now.isBefore(caEnd)) {
      throw new IllegalStateException("the cluster CA in " + directory + " expired at " + caEnd);
    }
    Instant end = now.plus(spec.validity());
    if (end.isAfter(caEnd)) {
      end = caEnd;
    }
    X500Name subject = new X500NameBuilder(BCStyle.INSTANCE)
        .addRDN(BCStyle.O, ORGANIZATION)
        .addRDN(BCStyle.CN, spec.name())
        .build();
    List<GeneralName> names = new ArrayList<>();
    for (String dnsName : spec.dnsNames()) {
      names.add(new GeneralName(GeneralName.dNSName, dnsName));
    }
    for (InetAddress address : spec.ipAddresses()) {
      names.add(new GeneralName(GeneralName.iPAddress, address.getHostAddress()));
    }
    try {
      JcaX509ExtensionUtils extensions = new JcaX509ExtensionUtils();
      X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(certificate,
          serial(random), Date.from(now.minus(BACKDATE)), Date.from(end), subject,
          pair.getPublic())
          .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
          .addExtension(Extension.keyUsage, true,
              new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyAgreement))
          .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(
              new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}))
          .addExtension(Extension.subjectAlternativeName, false,
              new GeneralNames(names.toArray(GeneralName[]::new)))
          .addExtension(Extension.subjectKeyIdentifier, false,
              extensions.createSubjectKeyIdentifier(pair.getPublic()))
          .addExtension(Extension.authorityKeyIdentifier, false,
              extensions.createAuthorityKeyIdentifier(certificate));
      return sign(builder, key);
    } catch (GeneralSecurityException | CertIOException e) {
      throw new IllegalStateException("cannot build the certificate of " + spec.name(), e);
    }
  }

  private static X509Certificate sign(X509v3CertificateBuilder builder, PrivateKey signingKey)
      throws CertificateException {
    ContentSigner signer;
    try {
      signer = new JcaContentSignerBuilder(SIGNATURE_ALGORITHM).build(signingKey);
    } catch (OperatorCreationException e) {
      throw new IllegalStateException(SIGNATURE_ALGORITHM + " is not available", e);
    }
    return new JcaX509CertificateConverter().getCertificate(builder.build(signer));
  }

  private static KeyPair generateKeyPair(SecureRandom random) {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
      generator.initialize(new ECGenParameterSpec(CURVE), random);
      return generator.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("EC keys on " + CURVE + " are required of every Java", e);
    }
  }

  private static BigInteger serial(SecureRandom random) {
    // Never zero: RFC 5280 wants a positive serial number.
    return new BigInteger(SERIAL_BITS, random).setBit(0);
  }

  private static void checkKeyPermissions(Path keyFile) throws IOException {
    Set<PosixFilePermission> permissions;
    try {
      permissions = Files.getPosixFilePermissions(keyFile);
    } catch (UnsupportedOperationException e) {
      throw new IOException("cannot check the permissions of CA key file " + keyFile
          + ": its file system has no POSIX permissions", e);
    }
    if (!PemFiles.KEY_FILE_PERMISSIONS.containsAll(permissions)) {
      throw new IOException("CA key file " + keyFile + " has mode "
          + PosixFilePermissions.toString(permissions)
          + "; it must be accessible to its owner only (chmod 600)");
    }
  }

  @Override
  public String toString() {
    return "ClusterCa[" + certificate.getSubjectX500Principal().getName() + " in " + directory
        + "]";
  }
}
