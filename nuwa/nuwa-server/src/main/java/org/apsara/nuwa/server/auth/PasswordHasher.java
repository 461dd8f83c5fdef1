package org.apsara.nuwa.server.auth;

import com.google.protobuf.ByteString;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.security.spec.KeySpec;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;
import org.apsara.nuwa.api.NuwaErrors;
import org.apsara.nuwa.server.auth.proto.PasswordHash;

/**
 * Hashes and checks passwords with PBKDF2-HMAC-SHA256 and a random salt per password. Slow on
 * purpose (that is what makes a stolen hash expensive to crack), so never call it on a gRPC event
 * loop or the Raft apply thread: the member that receives a password hashes it on its own
 * executor before proposing, and checks one the same way before signing a token.
 *
 * <p>Each hash records its algorithm and iteration count, so a hash made with an older count still
 * checks after the configured count changes. Thread-safe.
 */
public final class PasswordHasher {
  public static final String ALGORITHM = "PBKDF2WithHmacSHA256";
  /**
   * Default PBKDF2 iterations: about 80 ms of one core per hash or check on a current x86 server
   * (measured on a 2-core EPYC virtual machine: 75 to 90 ms once the JIT has warmed up), the same
   * order as etcd's bcrypt at its default cost. OWASP's guidance for PBKDF2-HMAC-SHA256 is
   * 600,000; raise {@code passwordHashIterations} where Authenticate is rare enough to afford it.
   */
  public static final int DEFAULT_ITERATIONS = 200_000;
  /** Fewest iterations accepted in configuration; tests use few to stay fast. */
  public static final int MIN_ITERATIONS = 1_000;
  /** Most iterations a stored hash may ask for, so a corrupt one cannot stall a member. */
  static final int MAX_ITERATIONS = 10_000_000;
  /** Longest password accepted, in bytes of UTF-8. */
  public static final int MAX_PASSWORD_BYTES = 1024;
  private static final int SALT_BYTES = 16;
  private static final int HASH_BITS = 256;

  private final int iterations;
  private final SecureRandom random = new SecureRandom();
  /**
   * A hash of a random password, checked against when the user does not exist or has no
   * password, so that the answer takes as long as for a wrong password and does not reveal
   * which users exist.
   */
  private final PasswordHash decoy;

  public PasswordHasher(int iterations) {
    if (iterations < MIN_ITERATIONS || iterations > MAX_ITERATIONS) {
      throw new IllegalArgumentException("PBKDF2 iterations must be in [" + MIN_ITERATIONS + ", "
          + MAX_ITERATIONS + "], not " + iterations);
    }
    this.iterations = iterations;
    byte[] decoyPassword = new byte[SALT_BYTES];
    random.nextBytes(decoyPassword);
    this.decoy = hash(java.util.HexFormat.of().formatHex(decoyPassword));
  }

  /** Hashes a password with a fresh salt. Slow: see the class comment. */
  public PasswordHash hash(String password) {
    checkLength(password);
    byte[] salt = new byte[SALT_BYTES];
    random.nextBytes(salt);
    return PasswordHash.newBuilder()
        .setAlgorithm(ALGORITHM)
        .setIterations(iterations)
        .setSalt(ByteString.copyFrom(salt))
        .setHash(ByteString.copyFrom(derive(password, salt, iterations)))
        .build();
  }

  /**
   * Whether {@code password} matches {@code stored}; a null {@code stored} (no such user, or a user
   * without password) never matches but costs the same time. The comparison is constant-time.
   */
  public boolean matches(String password, PasswordHash stored) {
    PasswordHash against = stored != null && usable(stored) ? stored : decoy;
    byte[] candidate = derive(truncated(password), against.getSalt().toByteArray(),
        against.getIterations());
    boolean equal = MessageDigest.isEqual(candidate, against.getHash().toByteArray());
    return equal && against == stored;
  }

  private static boolean usable(PasswordHash hash) {
    return ALGORITHM.equals(hash.getAlgorithm()) && hash.getIterations() >= 1
        && hash.getIterations() <= MAX_ITERATIONS;
  }

  /** A password too long to be valid still costs one hash rather than being rejected early. */
  private static String truncated(String password) {
    return password.length() > MAX_PASSWORD_BYTES ? password.substring(0, MAX_PASSWORD_BYTES)
        : password;
  }

  static void checkLength(String password) {
    if (password.getBytes(StandardCharsets.UTF_8).length > MAX_PASSWORD_BYTES) {
      throw NuwaErrors.invalidArgument("password longer than " + MAX_PASSWORD_BYTES + " bytes");
    }
  }

  private static byte[] derive(String password, byte[] salt, int iterations) {
    KeySpec spec = new PBEKeySpec(password.toCharArray(), salt, iterations, HASH_BITS);
    try {
      return SecretKeyFactory.getInstance(ALGORITHM).generateSecret(spec).getEncoded();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(ALGORITHM + " is part of every Java 17 runtime", e);
    }
  }
}
