package org.apsara.security.token;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Base64;
import java.util.HashSet;
import java.util.Set;

/**
 * The wire form of a capability token: URL-safe base64 without padding of
 *
 * <pre>
 * version:u8  keyId:u8-len  subject:u16-len  resource:u16-len
 * operationCount:u8  operation:u8-len...  issuedAtMillis:i64  expiresAtMillis:i64
 * hmacSha256(key, everything before):32 bytes
 * </pre>
 *
 * <p>Decoding is strict: only the canonical base64 of a token decodes, so each token has exactly
 * one string form and a changed character always changes the bytes. Stateless and thread-safe.
 */
final class TokenCodec {
  static final int VERSION = 1;
  static final int MAC_BYTES = 32;

  private static final Base64.Encoder ENCODER = Base64.getUrlEncoder().withoutPadding();
  private static final Base64.Decoder DECODER = Base64.getUrlDecoder();

  private TokenCodec() {}

  static String encode(CapabilityToken token, TokenKey key) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(256);
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      out.writeByte(VERSION);
      writeString(out, token.keyId(), 0xFF);
      writeString(out, token.subject(), 0xFFFF);
      writeString(out, token.resource(), 0xFFFF);
      out.writeByte(token.operations().size());
      for (String operation : token.operations()) {
        writeString(out, operation, 0xFF);
      }
      out.writeLong(token.issuedAt().toEpochMilli());
      out.writeLong(token.expiresAt().toEpochMilli());
    } catch (IOException e) {
      throw new UncheckedIOException("writing to memory cannot fail", e);
    }
    byte[] payload = bytes.toByteArray();
    byte[] mac = key.mac(payload, payload.length);
    byte[] signed = new byte[payload.length + MAC_BYTES];
    System.arraycopy(payload, 0, signed, 0, payload.length);
    System.arraycopy(mac, 0, signed, payload.length, MAC_BYTES);
    return ENCODER.encodeToString(signed);
  }

  /** A token's bytes, split into what the MAC covers and the MAC. */
  record Decoded(CapabilityToken token, byte[] signed, int payloadLength) {
    byte[] mac() {
      byte[] mac = new byte[MAC_BYTES];
      System.arraycopy(signed, payloadLength, mac, 0, MAC_BYTES);
      return mac;
    }
  }

  static Decoded decode(String encoded) throws CapabilityTokenException {
    if (encoded.length() > CapabilityToken.ENCODED_LENGTH_MAX) {
      throw malformed("the token is longer than " + CapabilityToken.ENCODED_LENGTH_MAX
          + " characters");
    }
    byte[] signed;
    try {
      signed = DECODER.decode(encoded);
    } catch (IllegalArgumentException e) {
      throw malformed("the token is not URL-safe base64");
    }
    if (!ENCODER.encodeToString(signed).equals(encoded)) {
      throw malformed("the token is not in canonical URL-safe base64 without padding");
    }
    if (signed.length < 1 + MAC_BYTES) {
      throw malformed("the token is too short");
    }
    int payloadLength = signed.length - MAC_BYTES;
    ByteBuffer in = ByteBuffer.wrap(signed, 0, payloadLength);
    try {
      int version = in.get() & 0xFF;
      if (version != VERSION) {
        throw malformed("unknown token version " + version);
      }
      String keyId = readString(in, in.get() & 0xFF);
      String subject = readString(in, in.getShort() & 0xFFFF);
      String resource = readString(in, in.getShort() & 0xFFFF);
      int operationCount = in.get() & 0xFF;
      if (operationCount > CapabilityToken.OPERATIONS_MAX) {
        throw malformed("the token lists too many operations");
      }
      Set<String> operations = new HashSet<>();
      for (int i = 0; i < operationCount; i++) {
        if (!operations.add(readString(in, in.get() & 0xFF))) {
          throw malformed("the token lists an operation twice");
        }
      }
      Instant issuedAt = Instant.ofEpochMilli(in.getLong());
      Instant expiresAt = Instant.ofEpochMilli(in.getLong());
      if (in.hasRemaining()) {
        throw malformed("the token has trailing bytes");
      }
      CapabilityToken token =
          new CapabilityToken(keyId, subject, resource, operations, issuedAt, expiresAt);
      return new Decoded(token, signed, payloadLength);
    } catch (BufferUnderflowException e) {
      throw malformed("the token is truncated");
    } catch (IllegalArgumentException | java.time.DateTimeException e) {
      // The constructor's limits, or an instant out of range.
      throw malformed("the token's fields are invalid");
    }
  }

  private static void writeString(DataOutputStream out, String value, int lengthMax)
      throws IOException {
    byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
    if (bytes.length > lengthMax) {
      throw new IllegalArgumentException("field too long for the token format");
    }
    if (lengthMax == 0xFF) {
      out.writeByte(bytes.length);
    } else {
      out.writeShort(bytes.length);
    }
    out.write(bytes);
  }

  private static String readString(ByteBuffer in, int length) throws CapabilityTokenException {
    if (length > in.remaining()) {
      throw malformed("the token is truncated");
    }
    byte[] bytes = new byte[length];
    in.get(bytes);
    String value = new String(bytes, StandardCharsets.UTF_8);
    // Reject bytes that are not UTF-8, so that a token has one meaning.
    if (!java.util.Arrays.equals(value.getBytes(StandardCharsets.UTF_8), bytes)) {
      throw malformed("the token has a field that is not UTF-8");
    }
    return value;
  }

  private static CapabilityTokenException malformed(String message) {
    return new CapabilityTokenException(TokenRejection.MALFORMED, message);
  }
}
