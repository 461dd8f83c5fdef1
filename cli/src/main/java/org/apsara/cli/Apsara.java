package org.apsara.cli;

import io.grpc.Status;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import java.util.List;
import org.apsara.cli.identity.GroupCommand;
import org.apsara.cli.identity.KeyCommand;
import org.apsara.cli.identity.PolicyCommand;
import org.apsara.cli.identity.TenantCommand;
import org.apsara.cli.identity.UserCommand;
import org.apsara.cli.identity.WhoamiCommand;
import org.apsara.fuxi.client.FuxiErrorCode;
import org.apsara.fuxi.client.FuxiException;
import org.apsara.pangu.client.PanguErrorCode;
import org.apsara.pangu.client.PanguException;
import picocli.CommandLine.Command;
import picocli.CommandLine;

/** The {@code apsara} command: one entry point to run, use and measure every Apsara service. */
@Command(
    name = "apsara",
    mixinStandardHelpOptions = true,
    versionProvider = VersionProvider.class,
    description = "Apsara: one operating system for a whole cluster.",
    subcommands = {
      UpCommand.class,
      RunCommand.class,
      NuwaCommand.class,
      FsCommand.class,
      FuxiCommand.class,
      TenantCommand.class,
      UserCommand.class,
      GroupCommand.class,
      KeyCommand.class,
      PolicyCommand.class,
      WhoamiCommand.class,
      BenchCommand.class,
      CaCommand.class,
      CommandLine.HelpCommand.class
    })
public final class Apsara implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }

  public static void main(String[] args) {
    giveAsyncTasksAPool();
    skipNettyLeakSampling();
    System.exit(commandLine().execute(args));
  }

  /**
   * On a machine with two processors or fewer, the JDK runs every {@code CompletableFuture}
   * async task that names no executor on a new thread of its own: the common pool's parallelism
   * is the processors minus one, and {@code CompletableFuture} uses the pool only above 1.
   * Ratis's followers append every entry batch through such a task ({@code thenComposeAsync}),
   * so each follower started a thread for every message from the leader (5% of a follower's CPU
   * in thread starts alone, measured on two cores). Raising the parallelism to 2 makes those
   * tasks share the common pool. Must run before anything uses {@code ForkJoinPool}; a value
   * given on the command line wins.
   */
  static void giveAsyncTasksAPool() {
    String property = "java.util.concurrent.ForkJoinPool.common.parallelism";
    if (System.getProperty(property) == null
        && Runtime.getRuntime().availableProcessors() <= 2) {
      System.setProperty(property, "2");
    }
  }

  /**
   * The two copies of Netty inside gRPC and Ratis each record a stack trace for one buffer in
   * 128 by default, to report buffers never released: 1.5% of every Nuwa member's CPU under
   * load, measured with a profiler. A diagnostic for Netty's users, and the tests, which run
   * in-process without this, keep it on. A level given on the command line (such as {@code
   * -Dio.grpc.netty.shaded.io.netty.leakDetection.level=simple} in {@code JAVA_OPTS}) wins.
   */
  static void skipNettyLeakSampling() {
    for (String netty : List.of("io.grpc.netty.shaded.io.netty",
        "org.apache.ratis.thirdparty.io.netty")) {
      String property = netty + ".leakDetection.level";
      if (System.getProperty(property) == null) {
        System.setProperty(property, "disabled");
      }
    }
  }

  /** The command tree, also used by tests to run commands in-process. */
  public static CommandLine commandLine() {
    CommandLine commandLine = new CommandLine(new Apsara());
    // The commands' descriptions are written in lines of up to 100 characters.
    commandLine.setUsageHelpWidth(100);
    commandLine.setExecutionExceptionHandler((e, cmd, parsed) -> {
      cmd.getErr().println(cmd.getColorScheme().errorText("apsara: " + messageOf(e)));
      return 1;
    });
    return commandLine;
  }

  static String messageOf(Throwable e) {
    Throwable cause = e;
    // Past wrappers that say nothing of their own: no message, or only their cause's toString.
    while (cause.getCause() != null && (cause.getMessage() == null
        || cause.getMessage().equals(cause.getCause().toString()))) {
      cause = cause.getCause();
    }
    String message = cause.getMessage() == null ? cause.toString() : cause.getMessage();
    // These carry the file alone as their message; say what happened to it.
    if (cause instanceof NoSuchFileException) {
      message += ": no such file or directory";
    } else if (cause instanceof AccessDeniedException) {
      message += ": permission denied";
    }
    if (cause instanceof PanguException pangu
        && pangu.code() == PanguErrorCode.MASTER_UNAVAILABLE) {
      message += "\n  Is Pangu running there (--masters, or APSARA_PANGU_MASTERS)? A cluster"
          + " started with ./apsara up --tls also needs --cacert, --cert and --key.";
    }
    if (cause instanceof FuxiException fuxi && fuxi.code() == FuxiErrorCode.MASTER_UNAVAILABLE) {
      message += "\n  Is FuxiMaster running there (--masters, or APSARA_FUXI_MASTERS)? A cluster"
          + " started with ./apsara up --tls also needs --cacert, --cert and --key.";
    }
    if (message.endsWith("etcdserver: user name is empty")) {
      message += "\n  Nuwa has authentication on: give --user NAME:PASSWORD (./apsara up keeps"
          + " root's password in DATA/nuwa/root.password) or --profile NAME.";
    }
    boolean unsigned = cause instanceof PanguException pangu
        && pangu.code() == PanguErrorCode.UNAUTHENTICATED
        || cause instanceof FuxiException fuxi && fuxi.status() == Status.Code.UNAUTHENTICATED;
    if (unsigned) {
      message += "\n  Calls are signed with a profile of the credentials file: --profile NAME,"
          + " --credentials FILE (./apsara up writes the default profile to"
          + " ~/.apsara/credentials, or to its --credentials).";
    }
    return message;
  }
}
