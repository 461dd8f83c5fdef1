package org.apsara.security.grpc;

import java.util.Map;
import org.apsara.security.sign.Principal;

/**
 * Decides whether a principal may perform an action on a resource; implemented by the policy
 * module.
 *
 * <p>Implementations must be thread-safe and should not block: {@link Authorization#require} calls
 * them on gRPC threads for every checked action. They should deny what they cannot decide.
 */
@FunctionalInterface
public interface Authorizer {
  /**
   * @param principal the authenticated caller
   * @param action a RAM-style action, for example {@code nuwa:Put}
   * @param resource a RAM-style resource, for example {@code acs:nuwa::1234:key/app/config}
   * @param requestContext condition keys of the request: at least {@link
   *     Authorization#CONTEXT_CURRENT_TIME} and {@link Authorization#CONTEXT_SECURE_TRANSPORT}, and
   *     {@link Authorization#CONTEXT_SOURCE_IP} when the caller is reached over IP
   */
  AuthorizationDecision authorize(
      Principal principal, String action, String resource, Map<String, String> requestContext);
}
