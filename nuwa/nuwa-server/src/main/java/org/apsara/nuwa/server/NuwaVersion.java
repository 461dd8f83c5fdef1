package org.apsara.nuwa.server;

/** Versions Nuwa reports. */
public final class NuwaVersion {
  private NuwaVersion() {}

  /**
   * The etcd API version Nuwa implements, reported where etcd reports its own version: clients
   * such as etcdctl use it to decide which calls they may make.
   */
  public static final String ETCD_API_VERSION = "3.5.0";
}
