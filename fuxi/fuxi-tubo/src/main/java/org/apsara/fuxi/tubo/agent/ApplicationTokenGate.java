package org.apsara.fuxi.tubo.agent;

import io.grpc.Status;
import java.util.Objects;
import org.apsara.security.token.CapabilityTokenException;
import org.apsara.security.token.CapabilityTokenVerifier;

/**
 * Checks an application token: a capability token FuxiMaster issued for resource {@code
 * fuxi/application/<application id>} granting {@value #OPERATION}. Every rejection (missing,
 * malformed, forged, expired, another application's) is PERMISSION_DENIED with code {@value
 * TuboErrors#BAD_APPLICATION_TOKEN}, as the contract says. Thread-safe (the verifier is
 * immutable).
 */
final class ApplicationTokenGate {
  /** The operation an application token grants on its application. */
  static final String OPERATION = "worker";
  /** The resource prefix; the application id follows. */
  static final String RESOURCE_PREFIX = "fuxi/application/";

  private final CapabilityTokenVerifier verifier;

  ApplicationTokenGate(CapabilityTokenVerifier verifier) {
    this.verifier = Objects.requireNonNull(verifier, "verifier");
  }

  static String resource(String applicationId) {
    return RESOURCE_PREFIX + applicationId;
  }

  /** Returns if {@code token} lets its holder run workers of {@code applicationId}. */
  void check(String applicationId, String token) {
    if (applicationId.isEmpty()) {
      throw TuboErrors.invalidArgument("application_id is required");
    }
    if (token.isEmpty()) {
      throw TuboErrors.error(Status.Code.PERMISSION_DENIED, TuboErrors.BAD_APPLICATION_TOKEN,
          "no application token: workers of " + applicationId + " need the token FuxiMaster"
              + " issued for the application");
    }
    try {
      verifier.verify(token, resource(applicationId), OPERATION);
    } catch (CapabilityTokenException e) {
      throw TuboErrors.error(Status.Code.PERMISSION_DENIED, TuboErrors.BAD_APPLICATION_TOKEN,
          "application token rejected (" + e.reason() + "): " + e.getMessage()
              + "; workers of " + applicationId + " need a token for "
              + resource(applicationId));
    }
  }
}
