package org.apsara.nuwa.client.testing;

import java.util.ArrayList;
import java.util.List;

/**
 * A single etcd member with authentication enabled the way an operator enables it ({@code etcdctl
 * user add root}, {@code etcdctl auth enable}), and users confined to key prefixes by roles.
 */
public final class AuthEnabledEtcd implements AutoCloseable {
  public static final String ROOT_PASSWORD = "root-secret-7f3a";

  /**
   * bcrypt's lowest cost: etcd hashes every password it is given and checks one on every
   * Authenticate, at some 50 ms each at its default cost.
   */
  private static final String LOW_BCRYPT_COST = "--bcrypt-cost=4";

  private final EtcdProcess etcd;
  private final Etcdctl root;

  private AuthEnabledEtcd(EtcdProcess etcd) {
    this.etcd = etcd;
    this.root = Etcdctl.at(etcd.endpoint()).as("root", ROOT_PASSWORD);
  }

  /** Starts etcd with {@code extraFlags}, creates the root user and enables authentication. */
  public static AuthEnabledEtcd start(List<String> extraFlags) {
    NuwaTestServer.assumeEtcdInstalled();
    List<String> flags = new ArrayList<>(extraFlags);
    flags.add(LOW_BCRYPT_COST);
    Etcdctl.assumeInstalled();
    EtcdProcess etcd = EtcdProcess.startSingle(flags);
    try {
      Etcdctl anonymous = Etcdctl.at(etcd.endpoint());
      anonymous.run("user", "add", "root:" + ROOT_PASSWORD);
      anonymous.run("auth", "enable");
      return new AuthEnabledEtcd(etcd);
    } catch (RuntimeException e) {
      etcd.close();
      throw e;
    }
  }

  public EtcdProcess process() {
    return etcd;
  }

  public String endpoint() {
    return etcd.endpoint();
  }

  /** etcdctl as the root user. */
  public Etcdctl root() {
    return root;
  }

  /** Adds {@code name}, with a role of its own that may read and write under {@code prefix}. */
  public void addUser(String name, String password, String prefix) {
    String role = name + "-rw";
    root.run("user", "add", name + ":" + password);
    root.run("role", "add", role);
    root.run("role", "grant-permission", role, "readwrite", prefix, "--prefix=true");
    root.run("user", "grant-role", name, role);
  }

  /** Sets a new password for {@code name}, as {@code etcdctl user passwd} does. */
  public void changePassword(String name, String newPassword) {
    root.runWithInput(newPassword + "\n", "user", "passwd", name, "--interactive=false");
  }

  @Override
  public void close() {
    etcd.close();
  }
}
