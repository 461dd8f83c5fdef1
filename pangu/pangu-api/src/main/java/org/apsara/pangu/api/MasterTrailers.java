package org.apsara.pangu.api;

import io.grpc.Metadata;

/**
 * The trailers the Pangu master adds to an error status, as {@code master.proto} defines them;
 * the master writes them and clients read them. Constants only.
 */
public final class MasterTrailers {
  public static final String ERROR_CODE_NAME = "x-pangu-error-code";
  public static final String LEADER_NAME = "x-pangu-leader";

  /** The name of the namespace's or the Raft group's error code, e.g. {@code NOT_FOUND}. */
  public static final Metadata.Key<String> ERROR_CODE =
      Metadata.Key.of(ERROR_CODE_NAME, Metadata.ASCII_STRING_MARSHALLER);
  /** The leader's client address (host:port) when a follower knows it. */
  public static final Metadata.Key<String> LEADER =
      Metadata.Key.of(LEADER_NAME, Metadata.ASCII_STRING_MARSHALLER);

  private MasterTrailers() {}
}
