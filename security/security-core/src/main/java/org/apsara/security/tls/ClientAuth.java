package org.apsara.security.tls;

/** Whether a TLS server asks its clients for a certificate, as etcd's {@code --client-cert-auth}. */
public enum ClientAuth {
  /** Clients are not asked for a certificate. */
  NONE,
  /**
   * Clients may present a certificate, which is then verified against the trusted CA. A client
   * holding only a certificate of another CA usually presents none (TLS clients pick their
   * certificate by the CA names the server lists) and is then served as an anonymous client.
   */
  OPTIONAL,
  /** Every client must present a certificate that verifies against the CA (mutual TLS). */
  REQUIRE
}
