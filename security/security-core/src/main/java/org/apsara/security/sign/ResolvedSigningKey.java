package org.apsara.security.sign;

import java.security.MessageDigest;
import java.util.Objects;

/**
 * What a service knows about an AccessKey for one credential scope: the key derived for that scope
 * (never the secret), whether the AccessKey may be used, and whom it belongs to.
 *
 * <p>Immutable and thread-safe: the key is copied in and out, so no holder can change another's.
 * {@link #toString()} never shows the key, and {@link #equals} compares it in constant time.
 *
 * @param signingKey the {@value ScopedSignature#SIGNING_KEY_BYTES}-byte key of {@link
 *     ScopedSignature#deriveSigningKey}
 * @param enabled whether requests signed with this AccessKey are accepted; a disabled key is
 *     rejected with {@link SignatureError#ACCESS_KEY_INACTIVE} even when its signature is right
 * @param principal the user the AccessKey belongs to; its access key id is the key's id
 */
public record ResolvedSigningKey(byte[] signingKey, boolean enabled, Principal principal) {
  public ResolvedSigningKey {
    Objects.requireNonNull(signingKey, "signingKey");
    Objects.requireNonNull(principal, "principal");
    if (signingKey.length != ScopedSignature.SIGNING_KEY_BYTES) {
      throw new IllegalArgumentException("a signing key has " + ScopedSignature.SIGNING_KEY_BYTES
          + " bytes, not " + signingKey.length);
    }
    signingKey = signingKey.clone();
  }

  /** A copy of the key. */
  @Override
  public byte[] signingKey() {
    return signingKey.clone();
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof ResolvedSigningKey that
        && MessageDigest.isEqual(signingKey, that.signingKey)
        && enabled == that.enabled
        && principal.equals(that.principal);
  }

  @Override
  public int hashCode() {
    // The key takes no part: a hash of it would be a (weak) fingerprint of a secret.
    return Objects.hash(enabled, principal);
  }

  @Override
  public String toString() {
    return "ResolvedSigningKey[signingKey=<hidden>, enabled=" + enabled
        + ", principal=" + principal + "]";
  }
}
