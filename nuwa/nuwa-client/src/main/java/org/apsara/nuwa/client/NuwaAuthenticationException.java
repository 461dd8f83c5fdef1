package org.apsara.nuwa.client;

import io.grpc.Status;

/**
 * The server did not accept who the client says it is: the user name or password given to {@link
 * NuwaClient.Builder#user} is wrong (or the user was deleted, or its password changed), the server
 * requires a user and the client was built without one ({@code "etcdserver: user name is empty"}),
 * or the server refused the client's token even right after the client authenticated again.
 * Sending the request again will not help until the credentials are fixed.
 *
 * <p>A user who is known but lacks a permission gets a plain {@link NuwaException} with code {@code
 * PERMISSION_DENIED} instead ({@code "etcdserver: permission denied"}). Messages never contain the
 * password.
 */
public final class NuwaAuthenticationException extends NuwaException {
  public NuwaAuthenticationException(Status.Code code, String message, Throwable cause) {
    super(code, message, cause);
  }
}
