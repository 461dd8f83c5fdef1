package org.apsara.security.grpc;

import io.grpc.Context;
import java.util.Optional;
import org.apsara.security.sign.Principal;

/**
 * The gRPC {@link Context} keys under which {@link AuthenticationServerInterceptor} leaves what it
 * learned about a call, for the service's handlers.
 *
 * <p>Context values are immutable and bound to the call's context, so reading them is thread-safe
 * from any thread that runs in that context (gRPC attaches it for every listener callback).
 */
public final class SecurityContext {
  /** The authenticated caller; absent for methods exempt from authentication. */
  public static final Context.Key<Principal> PRINCIPAL = Context.key("apsara-security-principal");
  /** Where the call came from; present for every call that passed the interceptor. */
  public static final Context.Key<RequestOrigin> REQUEST_ORIGIN =
      Context.key("apsara-security-request-origin");

  private SecurityContext() {}

  /** The caller of the current call, if it was authenticated. */
  public static Optional<Principal> currentPrincipal() {
    return Optional.ofNullable(PRINCIPAL.get());
  }

  /** Where the current call came from; {@link RequestOrigin#UNKNOWN} outside a call. */
  public static RequestOrigin currentOrigin() {
    RequestOrigin origin = REQUEST_ORIGIN.get();
    return origin == null ? RequestOrigin.UNKNOWN : origin;
  }
}
