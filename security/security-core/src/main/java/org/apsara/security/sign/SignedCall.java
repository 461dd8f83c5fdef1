package org.apsara.security.sign;

import java.util.Map;
import java.util.Objects;

/**
 * A received gRPC call as the signature verifier sees it.
 *
 * <p>Immutable and thread-safe.
 *
 * @param fullMethodName the called method, for example {@code etcdserverpb.KV/Put}
 * @param authority the call's {@code :authority}, which is signed as the {@code host} header; ""
 *     if the transport did not report one
 * @param payloadMustBeHashed whether the call sends exactly one request message, so that its hash
 *     must be signed; otherwise the call must be signed with {@link SignatureV3#UNSIGNED_PAYLOAD}
 * @param headers the call's ASCII headers by lower-case name
 */
public record SignedCall(
    String fullMethodName, String authority, boolean payloadMustBeHashed, Map<String, String> headers) {
  public SignedCall {
    Objects.requireNonNull(fullMethodName, "fullMethodName");
    Objects.requireNonNull(authority, "authority");
    headers = Map.copyOf(headers);
  }
}
