package org.apsara.cli;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import org.apsara.security.tls.ClusterCa;
import org.apsara.security.tls.LeafSpec;
import org.apsara.security.tls.TlsMaterial;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code apsara ca}: the cluster CA for members started by hand ({@code apsara run}); {@code apsara
 * up --tls} manages its own.
 */
@Command(
    name = "ca",
    mixinStandardHelpOptions = true,
    description = {
      "The cluster CA: create it, and issue each service its certificate for TLS.",
      "  apsara ca init --dir /etc/apsara/ca",
      "  apsara ca issue nuwa-n1 --dir /etc/apsara/ca --hosts 10.0.0.1,node1 --out /etc/apsara/certs",
      "Copy ca.crt and a service's .crt and .key to its machine; ca.key stays where it is."
    },
    subcommands = {CaCommand.Init.class, CaCommand.Issue.class})
final class CaCommand implements Runnable {
  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }

  @Command(name = "init", mixinStandardHelpOptions = true,
      description = "Create the cluster CA (ca.crt, and ca.key with mode 0600); an existing CA is"
          + " never overwritten.")
  static final class Init implements Callable<Integer> {
    @Option(names = "--dir", required = true, paramLabel = "DIR",
        description = "Directory of the CA.")
    Path dir;

    @Override
    public Integer call() throws Exception {
      ClusterCa ca = ClusterCa.create(dir);
      System.out.println("created " + ca.certificate().getSubjectX500Principal().getName()
          + ", valid until " + ca.certificate().getNotAfter().toInstant());
      System.out.println("  CA certificate (trust it: --trusted-ca-file, --cacert)  "
          + ca.certificateFile());
      System.out.println("  CA key (keep it here, mode 0600)                       "
          + dir.resolve(ClusterCa.KEY_FILE));
      return 0;
    }
  }

  @Command(name = "issue", mixinStandardHelpOptions = true,
      description = "Issue a certificate and key (NAME.crt, NAME.key with mode 0600) for a service"
          + " or client; it may serve and call. Existing files are never overwritten.")
  static final class Issue implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "NAME",
        description = "The certificate's name: letters, digits, '.', '_', '-'.")
    String name;

    @Option(names = "--dir", required = true, paramLabel = "DIR",
        description = "Directory of the CA (apsara ca init).")
    Path dir;

    @Option(names = "--hosts", required = true, split = ",", paramLabel = "HOST",
        description = "Host names and IP addresses the service is reached at, comma-separated.")
    List<String> hosts;

    @Option(names = "--out", required = true, paramLabel = "DIR",
        description = "Directory to write NAME.crt and NAME.key to.")
    Path out;

    @Option(names = "--validity-days", defaultValue = "365",
        description = "Days the certificate is valid; never beyond the CA (default: "
            + "${DEFAULT-VALUE}).")
    long validityDays;

    @Override
    public Integer call() throws Exception {
      ClusterCa ca = ClusterCa.load(dir);
      TlsMaterial issued = ca.issue(LeafSpec.forHosts(name, hosts,
          Duration.ofDays(validityDays)), out);
      System.out.println("issued " + name + " for " + String.join(", ", hosts));
      System.out.println("  certificate  " + issued.certChainFile().orElseThrow());
      System.out.println("  key          " + issued.keyFile().orElseThrow());
      System.out.println("  CA           " + ca.certificateFile());
      return 0;
    }
  }
}
