package org.apsara.security.sign;

import java.util.Objects;

/**
 * A request whose signature was verified.
 *
 * <p>Immutable and thread-safe.
 *
 * @param principal who signed it
 * @param contentSha256 the signed payload hash: 64 hex digits that the payload must still be
 *     checked against, or {@link SignatureV3#UNSIGNED_PAYLOAD}
 */
public record VerifiedRequest(Principal principal, String contentSha256) {
  public VerifiedRequest {
    Objects.requireNonNull(principal, "principal");
    Objects.requireNonNull(contentSha256, "contentSha256");
  }

  /** Whether the payload's hash was signed and must be checked against the payload. */
  public boolean payloadHashed() {
    return !SignatureV3.UNSIGNED_PAYLOAD.equals(contentSha256);
  }
}
