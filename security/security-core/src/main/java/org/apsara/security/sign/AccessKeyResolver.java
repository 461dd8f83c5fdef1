package org.apsara.security.sign;

import java.util.Optional;

/**
 * Looks up AccessKeys by id; implemented by the service that stores identities.
 *
 * <p>Implementations must be thread-safe: the server calls {@link #resolve} from gRPC transport
 * threads, once per authenticated call, so it should answer from memory (a cache) rather than
 * block on I/O. A key that was deleted must no longer resolve; a key that was disabled must resolve
 * with {@code enabled == false} (or not at all).
 */
@FunctionalInterface
public interface AccessKeyResolver {
  /**
   * Returns the key with the given id, or empty if there is none. Never throws for an unknown id;
   * {@code accessKeyId} has already been checked to be a syntactically valid id.
   */
  Optional<ResolvedAccessKey> resolve(String accessKeyId);
}
