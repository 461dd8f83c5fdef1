package org.apsara.security.grpc;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.MessageLite;
import io.grpc.MethodDescriptor;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.util.HexFormat;
import org.apsara.security.sign.SignatureV3;

/**
 * The payload hash of a request message: hex sha256 of its deterministic protobuf encoding, or of
 * what the method's marshaller writes for messages that are not protobuf.
 *
 * <p>Client and server hash the message object, not the bytes on the wire, because a server
 * interceptor only ever sees the parsed message. Deterministic serialization orders map entries,
 * so equal messages give equal bytes on both sides. A field the server's schema does not know is
 * kept as an unknown field and written after the known ones, so a client with a newer schema that
 * sets such a field below a known one gets a mismatch: schemas must be upgraded server first.
 *
 * <p>Stateless and thread-safe. The message is streamed into the digest, never copied whole.
 */
final class PayloadHash {
  private static final int BUFFER_BYTES = 4096;

  private PayloadHash() {}

  static <ReqT> String sha256Hex(MethodDescriptor<ReqT, ?> method, ReqT message) {
    MessageDigest digest = SignatureV3.newSha256();
    try (OutputStream out = new DigestOutputStream(OutputStream.nullOutputStream(), digest)) {
      if (message instanceof MessageLite protobuf) {
        CodedOutputStream coded = CodedOutputStream.newInstance(out, BUFFER_BYTES);
        coded.useDeterministicSerialization();
        protobuf.writeTo(coded);
        coded.flush();
      } else {
        try (InputStream in = method.streamRequest(message)) {
          in.transferTo(out);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot serialize the request of " + method.getFullMethodName(), e);
    }
    return HexFormat.of().formatHex(digest.digest());
  }
}
