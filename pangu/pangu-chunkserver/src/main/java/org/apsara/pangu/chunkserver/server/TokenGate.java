package org.apsara.pangu.chunkserver.server;

import io.grpc.Status;
import io.grpc.StatusException;
import java.util.List;
import org.apsara.pangu.api.ChunkCapabilities;
import org.apsara.security.token.CapabilityToken;
import org.apsara.security.token.CapabilityTokenException;
import org.apsara.security.token.CapabilityTokenVerifier;
import org.apsara.security.token.TokenRejection;

/**
 * Checks the capability token of a call against the chunk it names and the operations the call
 * needs, turning each rejection into the status the contract promises: UNAUTHENTICATED when the
 * token itself is not valid (missing, malformed, forged, expired), PERMISSION_DENIED when a valid
 * token grants something else. Thread-safe (the verifier is immutable).
 */
final class TokenGate {
  private final CapabilityTokenVerifier verifier;
  private final ChunkServerMetrics metrics;

  TokenGate(CapabilityTokenVerifier verifier, ChunkServerMetrics metrics) {
    this.verifier = verifier;
    this.metrics = metrics;
  }

  /**
   * Returns the token's contents if it grants any of {@code operations} (tried in order) on
   * {@code chunkId}.
   */
  CapabilityToken check(String token, long chunkId, List<String> operations)
      throws StatusException {
    String resource = ChunkCapabilities.resource(chunkId);
    if (token.isEmpty()) {
      metrics.tokenRejected("MISSING");
      throw Status.UNAUTHENTICATED.withDescription("no capability token: " + resource
          + " needs a token granting " + String.join(" or ", operations)).asException();
    }
    CapabilityTokenException rejection = null;
    for (String operation : operations) {
      try {
        return verifier.verify(token, resource, operation);
      } catch (CapabilityTokenException e) {
        rejection = e;
        if (e.reason() != TokenRejection.OPERATION_NOT_GRANTED) {
          break; // any other check fails the same way for every operation
        }
      }
    }
    metrics.tokenRejected(rejection.reason().name());
    Status status = switch (rejection.reason()) {
      case RESOURCE_MISMATCH, OPERATION_NOT_GRANTED -> Status.PERMISSION_DENIED;
      default -> Status.UNAUTHENTICATED;
    };
    String needs = operations.size() == 1 ? operations.get(0)
        : String.join(" or ", operations);
    throw status.withDescription("capability token rejected (" + rejection.reason() + "): "
        + rejection.getMessage() + "; this call needs " + needs + " on " + resource)
        .asException();
  }
}
