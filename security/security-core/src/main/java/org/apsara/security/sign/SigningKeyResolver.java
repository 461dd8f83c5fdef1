package org.apsara.security.sign;

import java.util.Optional;

/**
 * Looks up the signing key of an AccessKey for one credential scope; implemented by whatever
 * gives a service its derived keys (in Apsara, the identity service's {@code
 * GetServiceCredential}, cached).
 *
 * <p>Implementations must be thread-safe: the server calls {@link #resolve} from gRPC threads,
 * once per authenticated call. They should answer from memory; one that must fetch a key it has
 * never seen may block the call that asked (gRPC runs interceptors on the server's executor, not
 * on its network threads), and should make concurrent askers for the same key share one fetch.
 */
@FunctionalInterface
public interface SigningKeyResolver {
  /**
   * Returns the key of {@code accessKeyId} for {@code scope}, or empty if there is no such
   * AccessKey. {@code accessKeyId} is a syntactically valid id and {@code scope} is the verifying
   * server's own region and service, on the request's day.
   *
   * @throws SignatureRejectedException with {@link SignatureError#SIGNING_KEY_UNAVAILABLE} if the
   *     key cannot be known now (its source is unreachable and nothing recent enough is cached)
   */
  Optional<ResolvedSigningKey> resolve(String accessKeyId, CredentialScope scope)
      throws SignatureRejectedException;
}
