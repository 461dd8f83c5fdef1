package org.apsara.cli.identity;

import picocli.CommandLine.Option;

/** The {@code --tenant} option: which tenant a command acts in. A picocli mixin. */
final class TenantOption {
  @Option(names = "--tenant", paramLabel = "TENANT",
      description = "The tenant to act in (default: your own).")
  String tenant = "";

  /** The tenant, or "" for the caller's own, as the service reads it. */
  String name() {
    return tenant;
  }
}
