package org.apsara.fuxi.api;

import io.grpc.Metadata;

/**
 * The trailers FuxiMaster and Tubo add to an error status, as {@code fuxi.proto} defines them;
 * servers write them and clients read them. Constants only.
 */
public final class FuxiTrailers {
  public static final String ERROR_CODE_NAME = "x-fuxi-error-code";
  public static final String PRIMARY_NAME = "x-fuxi-primary";

  /** The name of the error code, e.g. {@code UNKNOWN_APPLICATION}. */
  public static final Metadata.Key<String> ERROR_CODE =
      Metadata.Key.of(ERROR_CODE_NAME, Metadata.ASCII_STRING_MARSHALLER);
  /** The primary's client address (host:port) when a standby knows it. */
  public static final Metadata.Key<String> PRIMARY =
      Metadata.Key.of(PRIMARY_NAME, Metadata.ASCII_STRING_MARSHALLER);

  private FuxiTrailers() {}
}
