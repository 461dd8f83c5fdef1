package org.apsara.nuwa.server.auth;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.Optional;
import java.util.OptionalLong;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.apsara.nuwa.server.auth.proto.TokenClaims;

/**
 * Self-contained tokens: {@code nuwa1.<claims>.<mac>}, where the claims (user, auth revision,
 * expiry) and an HMAC-SHA256 over them are base64url-encoded. The key is part of the replicated
 * auth state, so any member verifies a token any other member signed, without asking anyone.
 *
 * <p>Expiry is wall-clock time: members' clocks are assumed to agree to well within a token's
 * lifetime, as for etcd's JWT tokens. Thread-safe.
 */
public final class TokenCodec {
  private static final String PREFIX = "nuwa1.";
  private static final String MAC_ALGORITHM = "HmacSHA256";
  /** Longest token string looked at; anything longer is invalid without being decoded. */
  static final int MAX_TOKEN_CHARS = 2048;
  private static final Base64.Encoder ENCODER = Base64.getUrlEncoder().withoutPadding();
  private static final Base64.Decoder DECODER = Base64.getUrlDecoder();

  private final Clock clock;
  private final Duration ttl;
  /** A Mac per thread, initialized for the key it last used: creating one per call is slow. */
  private final ThreadLocal<KeyedMac> macs = new ThreadLocal<>();

  /**
   * @param clock wall-clock time, for expiry
   * @param ttl how long a token stays valid after it is signed (etcd's {@code --auth-token-ttl})
   */
  public TokenCodec(Clock clock, Duration ttl) {
    if (ttl.isNegative() || ttl.isZero()) {
      throw new IllegalArgumentException("token TTL must be positive: " + ttl);
    }
    this.clock = clock;
    this.ttl = ttl;
  }

  /** A token for {@code user} as of auth {@code revision}, signed with {@code key}. */
  public String sign(ByteString key, String user, long revision) {
    TokenClaims claims = TokenClaims.newBuilder()
        .setUser(user)
        .setAuthRevision(revision)
        .setExpiresAtUnixMs(clock.millis() + ttl.toMillis())
        .build();
    byte[] payload = claims.toByteArray();
    return PREFIX + ENCODER.encodeToString(payload) + "." + ENCODER.encodeToString(mac(key, payload));
  }

  /**
   * The claims of a token signed with {@code key}, if its signature is right and, when
   * {@code checkExpiry}, it has not expired. Never throws on malformed input.
   */
  public Optional<TokenClaims> verify(ByteString key, String token, boolean checkExpiry) {
    if (token == null || token.length() > MAX_TOKEN_CHARS || !token.startsWith(PREFIX)) {
      return Optional.empty();
    }
    int dot = token.indexOf('.', PREFIX.length());
    if (dot < 0) {
      return Optional.empty();
    }
    try {
      byte[] payload = DECODER.decode(token.substring(PREFIX.length(), dot));
      byte[] signature = DECODER.decode(token.substring(dot + 1));
      if (!MessageDigest.isEqual(mac(key, payload), signature)) {
        return Optional.empty();
      }
      TokenClaims claims = TokenClaims.parseFrom(payload);
      if (checkExpiry && clock.millis() >= claims.getExpiresAtUnixMs()) {
        return Optional.empty();
      }
      return Optional.of(claims);
    } catch (IllegalArgumentException | InvalidProtocolBufferException malformed) {
      return Optional.empty();
    }
  }

  /**
   * The auth revision a token claims to be issued at, without checking its signature: enough to
   * tell that this member's auth state is older than the one the token came from (it may not even
   * hold the key the token is signed with yet). Empty if the token is malformed.
   */
  public OptionalLong claimedRevision(String token) {
    if (token == null || token.length() > MAX_TOKEN_CHARS || !token.startsWith(PREFIX)) {
      return OptionalLong.empty();
    }
    int dot = token.indexOf('.', PREFIX.length());
    if (dot < 0) {
      return OptionalLong.empty();
    }
    try {
      byte[] payload = DECODER.decode(token.substring(PREFIX.length(), dot));
      return OptionalLong.of(TokenClaims.parseFrom(payload).getAuthRevision());
    } catch (IllegalArgumentException | InvalidProtocolBufferException malformed) {
      return OptionalLong.empty();
    }
  }

  private byte[] mac(ByteString key, byte[] payload) {
    KeyedMac keyed = macs.get();
    if (keyed == null || !keyed.key.equals(key)) {
      try {
        Mac mac = Mac.getInstance(MAC_ALGORITHM);
        mac.init(new SecretKeySpec(key.toByteArray(), MAC_ALGORITHM));
        keyed = new KeyedMac(key, mac);
        macs.set(keyed);
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException(MAC_ALGORITHM + " is part of every Java 17 runtime", e);
      }
    }
    return keyed.mac.doFinal(payload);
  }

  private record KeyedMac(ByteString key, Mac mac) {}
}
