package org.apsara.nuwa.client.testing;

import org.apsara.nuwa.client.NuwaClient;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * One client per test class against the shared test server, opened on first use (so that each
 * test is reported skipped, not failed, where etcd is not installed) and closed after the class;
 * plus a fresh key prefix for every test, so tests never see each other's keys.
 *
 * <p>Register it as a static field: {@code @RegisterExtension static final EtcdClientExtension
 * etcd = new EtcdClientExtension("kv");}. Each class has its own instance, so classes that run
 * in parallel never share a client.
 */
public final class EtcdClientExtension implements BeforeEachCallback, AfterAllCallback {
  private final String prefixName;
  private NuwaClient client;
  private String prefix;

  public EtcdClientExtension(String prefixName) {
    this.prefixName = prefixName;
  }

  @Override
  public void beforeEach(ExtensionContext context) {
    NuwaTestServer.assumeEtcdInstalled();
    if (client == null) {
      client = NuwaTestServer.newClient();
    }
    prefix = NuwaTestServer.uniquePrefix(prefixName);
  }

  @Override
  public void afterAll(ExtensionContext context) {
    if (client != null) {
      client.close();
      client = null;
    }
  }

  public NuwaClient client() {
    return client;
  }

  /** This test's own key prefix. */
  public String prefix() {
    return prefix;
  }
}
