/**
 * Transport security between services: the cluster's certificate authority
 * ({@link org.apsara.security.tls.ClusterCa}), the PEM files it writes and reads
 * ({@link org.apsara.security.tls.PemFiles}), the files a TLS endpoint needs
 * ({@link org.apsara.security.tls.TlsMaterial}) and the gRPC (Netty) TLS contexts built from them
 * ({@link org.apsara.security.tls.TlsContexts}).
 *
 * <p>Keys are ECDSA P-256, certificates X.509 v3 signed with SHA256withECDSA, files PEM (keys in
 * unencrypted PKCS#8), readable by etcdctl, openssl, Go and Java alike.
 */
package org.apsara.security.tls;
