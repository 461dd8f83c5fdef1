package org.apsara.cli;

import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;
import org.apsara.security.tls.TlsContexts;
import org.apsara.security.tls.TlsMaterial;

/** The client side of {@code --cacert}, {@code --cert} and {@code --key}, as commands take them. */
final class ClientTlsFlags {
  private ClientTlsFlags() {}

  /**
   * A client TLS context verifying servers against {@code cacert} and presenting {@code cert}
   * with {@code key} if given; empty (plaintext) without {@code cacert}.
   *
   * @throws IllegalArgumentException for a certificate or key without {@code --cacert}
   */
  static Optional<SslContext> context(Path cacert, Path cert, Path key) throws IOException {
    if (cacert != null) {
      return Optional.of(TlsContexts.forClient(TlsMaterial.of(cert, key, cacert)));
    }
    if (cert != null || key != null) {
      throw new IllegalArgumentException("--cert and --key need --cacert");
    }
    return Optional.empty();
  }
}
