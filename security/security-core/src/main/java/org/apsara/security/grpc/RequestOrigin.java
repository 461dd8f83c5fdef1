package org.apsara.security.grpc;

import io.grpc.Attributes;
import io.grpc.Grpc;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.Objects;

/**
 * Where a call came from, as its transport reports it.
 *
 * <p>Immutable and thread-safe.
 *
 * @param sourceIp the caller's IP address, for example {@code 10.0.0.7}; "" when the transport is
 *     not IP (the in-process transport)
 * @param sourceAddress the caller's address as logged: {@code ip:port}, or the transport's own
 *     description of a non-IP address; "" if unknown
 * @param secureTransport whether the call arrived over TLS
 */
public record RequestOrigin(String sourceIp, String sourceAddress, boolean secureTransport) {
  /** The origin of a call the transport said nothing about. */
  public static final RequestOrigin UNKNOWN = new RequestOrigin("", "", false);

  public RequestOrigin {
    Objects.requireNonNull(sourceIp, "sourceIp");
    Objects.requireNonNull(sourceAddress, "sourceAddress");
  }

  /**
   * The origin described by a server call's transport attributes ({@link
   * Grpc#TRANSPORT_ATTR_REMOTE_ADDR}, {@link Grpc#TRANSPORT_ATTR_SSL_SESSION}).
   */
  public static RequestOrigin fromAttributes(Attributes attributes) {
    SocketAddress remote = attributes.get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
    boolean secure = attributes.get(Grpc.TRANSPORT_ATTR_SSL_SESSION) != null;
    if (remote instanceof InetSocketAddress inet && inet.getAddress() != null) {
      String ip = inet.getAddress().getHostAddress();
      return new RequestOrigin(ip, ip + ":" + inet.getPort(), secure);
    }
    return new RequestOrigin("", remote == null ? "" : remote.toString(), secure);
  }
}
