package org.apsara.cli;

import picocli.CommandLine;

/** Reports the version from the jar's manifest, or "development" when run from classes. */
final class VersionProvider implements CommandLine.IVersionProvider {
  @Override
  public String[] getVersion() {
    String version = Apsara.class.getPackage().getImplementationVersion();
    return new String[] {"apsara " + (version == null ? "development" : version),
        "etcd API " + org.apsara.nuwa.server.NuwaVersion.ETCD_API_VERSION};
  }
}
