package org.apsara.security.sign;

import java.util.Objects;

/**
 * What the server knows about an AccessKey: its secret, whether it may be used, and whom it belongs
 * to.
 *
 * <p>Immutable and thread-safe. {@link #toString()} never shows the secret.
 *
 * @param accessKeySecret the shared secret the signature is checked against
 * @param enabled whether requests signed with this key are accepted; a disabled key is rejected
 *     with {@link SignatureError#ACCESS_KEY_INACTIVE} even when its signature is right
 * @param principal the user the key belongs to; its access key id is the key's id
 */
public record ResolvedAccessKey(String accessKeySecret, boolean enabled, Principal principal) {
  public ResolvedAccessKey {
    Objects.requireNonNull(accessKeySecret, "accessKeySecret");
    Objects.requireNonNull(principal, "principal");
    if (accessKeySecret.isEmpty()) {
      throw new IllegalArgumentException("an AccessKey secret cannot be empty");
    }
  }

  @Override
  public String toString() {
    return "ResolvedAccessKey[accessKeySecret=<hidden>, enabled=" + enabled
        + ", principal=" + principal + "]";
  }
}
