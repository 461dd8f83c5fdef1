package org.apsara.fuxi.api;

/**
 * The environment variables FuxiMaster gives every application master it launches, as {@code
 * fuxi.proto} describes them. Constants only.
 */
public final class AppMasterEnvironment {
  /** The application's id. */
  public static final String APPLICATION_ID = "FUXI_APPLICATION_ID";
  /** Which start of the application master this is, from 1. */
  public static final String ATTEMPT = "FUXI_AM_ATTEMPT";
  /** The FuxiMaster members' client addresses, host:port separated by commas. */
  public static final String MASTERS = "FUXI_MASTERS";
  /** A capability token for this application; renewed over the Allocate stream. */
  public static final String APPLICATION_TOKEN = "FUXI_APPLICATION_TOKEN";
  /** The machine the application master runs on. */
  public static final String MACHINE_ID = "FUXI_MACHINE_ID";
  /**
   * PEM CA certificates to verify FuxiMaster and the Tubos against, when the cluster speaks TLS;
   * set by Tubo for every worker. Absent: plaintext.
   */
  public static final String TLS_CA = "FUXI_TLS_CA";

  private AppMasterEnvironment() {}
}
