package org.apsara.cli;

import com.google.protobuf.ByteString;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.apsara.cli.identity.IdentityCommandException;
import org.apsara.cli.identity.IdentityConnection;
import org.apsara.nuwa.client.ClusterClient;
import org.apsara.nuwa.client.DeleteOptions;
import org.apsara.nuwa.client.GetOptions;
import org.apsara.nuwa.client.GetResponse;
import org.apsara.nuwa.client.KeyRange;
import org.apsara.nuwa.client.KeyValue;
import org.apsara.nuwa.client.NuwaClient;
import org.apsara.nuwa.client.NuwaException;
import org.apsara.nuwa.client.PutOptions;
import org.apsara.nuwa.client.WatchEvent;
import org.apsara.nuwa.client.WatchListener;
import org.apsara.nuwa.client.WatchOptions;
import org.apsara.nuwa.client.WatchResponse;
import org.apsara.nuwa.client.Watcher;
import org.apsara.security.sign.AccessKeyCredentials;
import org.apsara.tenant.api.CredentialsFile;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code apsara nuwa ...}: a thin command line over the Nuwa client. */
@Command(
    name = "nuwa",
    mixinStandardHelpOptions = true,
    description = "Use Nuwa, the coordination service: keys, watches, members, alarms, status.",
    subcommands = {
      NuwaCommand.Get.class,
      NuwaCommand.Put.class,
      NuwaCommand.Del.class,
      NuwaCommand.Watch.class,
      NuwaCommand.Members.class,
      NuwaCommand.Alarms.class,
      NuwaCommand.Status.class
    })
final class NuwaCommand implements Runnable {
  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }

  /** Options every subcommand shares: where Nuwa is, who is asking, and how long to wait. */
  static final class Connection {
    @picocli.CommandLine.Spec(picocli.CommandLine.Spec.Target.MIXEE)
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--endpoints", split = ",", paramLabel = "HOST:PORT",
        defaultValue = "${env:APSARA_NUWA_ENDPOINTS:-127.0.0.1:2379}",
        description = "Nuwa members to talk to, comma-separated (default: ${DEFAULT-VALUE}; "
            + "or set APSARA_NUWA_ENDPOINTS).")
    List<String> endpoints;

    @Option(names = "--timeout", defaultValue = "5s", converter = DurationConverter.class,
        description = "How long one request may take (default: ${DEFAULT-VALUE}).")
    Duration timeout;

    @Option(names = "--user", paramLabel = "NAME:PASSWORD",
        defaultValue = "${env:APSARA_NUWA_USER}",
        description = "Authenticate as this Nuwa user, as etcdctl's --user does "
            + "(or set APSARA_NUWA_USER).")
    String user;

    @Option(names = "--profile", paramLabel = "NAME",
        description = "Authenticate with the AccessKey of this profile of the credentials file "
            + "(the one `apsara key create --save-profile NAME` wrote): a tenant's user reaches "
            + "the keys under /tenants/TENANT/ that its policies allow (see `apsara policy "
            + "--help`).")
    String profile;

    @Option(names = "--credentials", paramLabel = "FILE",
        defaultValue = "${env:" + IdentityConnection.CREDENTIALS_FILE_ENV + "}",
        description = "The credentials file of --profile: "
            + IdentityConnection.CREDENTIALS_FILE_ENV + " if set, else ~/.apsara/credentials.")
    Path credentials;

    @Option(names = "--cacert", paramLabel = "FILE", defaultValue = "${env:APSARA_NUWA_CACERT}",
        description = "Talk TLS, verifying members against these PEM CA certificates, as "
            + "etcdctl's --cacert (or set APSARA_NUWA_CACERT).")
    Path cacert;

    @Option(names = "--cert", paramLabel = "FILE", defaultValue = "${env:APSARA_NUWA_CERT}",
        description = "PEM client certificate to present, as etcdctl's --cert "
            + "(or set APSARA_NUWA_CERT).")
    Path cert;

    @Option(names = "--key", paramLabel = "FILE", defaultValue = "${env:APSARA_NUWA_KEY}",
        description = "PEM private key of --cert, as etcdctl's --key (or set APSARA_NUWA_KEY).")
    Path key;

    NuwaClient open() {
      LogSetup.forClient();
      NuwaClient.Builder builder = NuwaClient.builder().endpoints(endpoints).requestTimeout(timeout);
      if (profile != null) {
        if (user != null && !user.isEmpty()) {
          throw new picocli.CommandLine.ParameterException(spec.commandLine(),
              "--user and --profile both say who is asking; give one");
        }
        AccessKeyCredentials key = profileCredentials();
        builder.user(key.accessKeyId(), key.accessKeySecret());
      } else if (user != null && !user.isEmpty()) {
        int colon = user.indexOf(':');
        if (colon <= 0) {
          throw new picocli.CommandLine.ParameterException(spec.commandLine(),
              "--user takes NAME:PASSWORD");
        }
        builder.user(user.substring(0, colon), user.substring(colon + 1));
      }
      if (cacert != null || cert != null || key != null) {
        try {
          builder.tls(org.apsara.security.tls.TlsMaterial.of(cert, key, cacert));
        } catch (IllegalArgumentException e) {
          throw new picocli.CommandLine.ParameterException(spec.commandLine(),
              "--cert and --key go together: " + e.getMessage());
        }
      }
      return builder.build();
    }

    private AccessKeyCredentials profileCredentials() {
      Path file = credentials != null ? credentials : CredentialsFile.defaultPath();
      try {
        return IdentityConnection.readProfile(file, profile).credentials();
      } catch (IdentityCommandException e) {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(),
            "--profile " + profile + ": " + e.getMessage(), e);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read the credentials file " + file, e);
      }
    }

    /**
     * {@code failure}, or for a refusal the same refusal with what was refused and where access
     * comes from: Nuwa itself answers only etcd's "permission denied".
     */
    NuwaException explained(NuwaException failure, String attempt) {
      if (failure.code() != io.grpc.Status.Code.PERMISSION_DENIED) {
        return failure;
      }
      String who = profile != null ? "the AccessKey of profile [" + profile + "]"
          : user != null && !user.isEmpty() ? "Nuwa user " + user.substring(0, user.indexOf(':'))
          : "an anonymous client";
      return new NuwaException(failure.code(), failure.getMessage() + ": " + who + " may not "
          + attempt + (profile == null ? "" : ". A tenant's users reach only keys under "
          + "/tenants/TENANT/, and of those what their policies allow: actions nuwa:Read and "
          + "nuwa:Write on acs:nuwa:*:TENANT:key/PATH (a tenant's root user reaches them all)"),
          failure);
    }
  }

  /** The key a command acts on, or with {@code --prefix} every key that starts with it. */
  static final class KeyArgument {
    @Parameters(index = "0", description = "The key (or the prefix, with --prefix).")
    String key;

    @Option(names = "--prefix", description = "Every key that starts with KEY.")
    boolean prefix;

    KeyRange range() {
      return prefix ? KeyRange.prefix(key) : KeyRange.key(ByteString.copyFromUtf8(key));
    }

    /** The keys, as an error message names them. */
    String describe() {
      return prefix ? "the keys under " + key : key;
    }
  }

  @Command(name = "get", mixinStandardHelpOptions = true,
      description = "Print a key's value, or every key in a range (key, then value, one per line).")
  static final class Get implements Callable<Integer> {
    @Mixin Connection connection;

    @Mixin KeyArgument keys;

    @Option(names = "--rev", defaultValue = "0", description = "Read at this revision (0: latest).")
    long revision;

    @Option(names = "--limit", defaultValue = "0", description = "Return at most N keys (0: all).")
    long limit;

    @Option(names = "--keys-only", description = "Print keys without values.")
    boolean keysOnly;

    @Option(names = "--serializable",
        description = "Read from the member's local state: faster, possibly stale.")
    boolean serializable;

    @Override
    public Integer call() {
      try (NuwaClient client = connection.open()) {
        GetOptions.Builder options = GetOptions.builder().revision(revision).limit(limit)
            .keysOnly(keysOnly).serializable(serializable);
        KeyRange range = keys.range();
        GetResponse response;
        try {
          response = client.kv().get(range, options.build());
        } catch (NuwaException e) {
          throw connection.explained(e, "read " + keys.describe());
        }
        for (KeyValue kv : response.kvs()) {
          System.out.println(kv.key().toStringUtf8());
          if (!keysOnly) {
            System.out.println(kv.value().toStringUtf8());
          }
        }
        return 0;
      }
    }
  }

  @Command(name = "put", mixinStandardHelpOptions = true,
      description = "Set KEY to VALUE; prints OK.")
  static final class Put implements Callable<Integer> {
    @Mixin Connection connection;

    @Parameters(index = "0", description = "The key.")
    String key;

    @Parameters(index = "1", description = "The value.")
    String value;

    @Option(names = "--lease", defaultValue = "0",
        description = "Attach the key to this lease (hexadecimal ID, as etcdctl prints it).")
    String lease;

    @Override
    public Integer call() {
      long leaseId;
      try {
        leaseId = Long.parseUnsignedLong(lease, 16);
      } catch (NumberFormatException e) {
        throw new picocli.CommandLine.ParameterException(
            new picocli.CommandLine(this), "--lease must be a hexadecimal lease ID, not '" + lease + "'");
      }
      try (NuwaClient client = connection.open()) {
        try {
          client.kv().put(key, value, PutOptions.builder().lease(leaseId).build());
        } catch (NuwaException e) {
          throw connection.explained(e, "write " + key);
        }
        System.out.println("OK");
        return 0;
      }
    }
  }

  @Command(name = "del", mixinStandardHelpOptions = true,
      description = "Delete a key, or every key in a range; prints how many were deleted.")
  static final class Del implements Callable<Integer> {
    @Mixin Connection connection;

    @Mixin KeyArgument keys;

    @Override
    public Integer call() {
      try (NuwaClient client = connection.open()) {
        KeyRange range = keys.range();
        try {
          System.out.println(client.kv().delete(range, DeleteOptions.DEFAULT).deleted());
        } catch (NuwaException e) {
          throw connection.explained(e, "write " + keys.describe());
        }
        return 0;
      }
    }
  }

  @Command(name = "watch", mixinStandardHelpOptions = true,
      description = "Print every change to a key or range as it happens, until Ctrl-C.")
  static final class Watch implements Callable<Integer> {
    @Mixin Connection connection;

    @Mixin KeyArgument keys;

    @Option(names = "--rev", defaultValue = "0",
        description = "Start from this revision, replaying history (0: from now on).")
    long revision;

    @Override
    public Integer call() throws InterruptedException {
      try (NuwaClient client = connection.open()) {
        CountDownLatch failed = new CountDownLatch(1);
        String[] error = new String[1];
        KeyRange range = keys.range();
        WatchOptions options = WatchOptions.builder().startRevision(revision).build();
        try (Watcher watcher = client.watch().watch(range, options, new WatchListener() {
          @Override
          public void onNext(WatchResponse response) {
            synchronized (System.out) {
              for (WatchEvent event : response.events()) {
                System.out.println(event.type());
                System.out.println(event.kv().key().toStringUtf8());
                System.out.println(event.kv().value().toStringUtf8());
              }
              System.out.flush();
            }
          }

          @Override
          public void onError(NuwaException e) {
            error[0] = connection.explained(e, "read " + keys.describe()).getMessage();
            failed.countDown();
          }
        })) {
          failed.await();
          System.err.println("apsara: watch ended: " + error[0]);
          return 1;
        }
      }
    }
  }

  @Command(name = "members", mixinStandardHelpOptions = true,
      description = {"List the cluster's members: ID, name, peer URLs, client URLs.",
          "A member is added by starting it with 'apsara run nuwa --join'."},
      subcommands = NuwaCommand.MemberRemove.class)
  static final class Members implements Callable<Integer> {
    @Mixin Connection connection;

    @Override
    public Integer call() {
      try (NuwaClient client = connection.open()) {
        for (ClusterClient.Member member : client.cluster().members()) {
          System.out.println(describe(member));
        }
        return 0;
      }
    }

    static String describe(ClusterClient.Member member) {
      return String.format("%x, %s, %s, %s", member.id(), member.name(),
          String.join(",", member.peerUrls()), String.join(",", member.clientUrls()));
    }
  }

  @Command(name = "remove", mixinStandardHelpOptions = true,
      description = {"Take a member out of the cluster; prints the members that remain.",
          "Stop the removed member's process afterwards; its data directory is of no further use."})
  static final class MemberRemove implements Callable<Integer> {
    @Mixin Connection connection;

    @Parameters(index = "0", paramLabel = "MEMBER",
        description = "The member's name, or its ID in hexadecimal as 'members' prints it.")
    String member;

    @Override
    public Integer call() {
      try (NuwaClient client = connection.open()) {
        List<ClusterClient.Member> members = client.cluster().members();
        ClusterClient.Member target = members.stream()
            .filter(m -> m.name().equals(member) || Long.toHexString(m.id()).equals(member))
            .findFirst()
            .orElseThrow(() -> new NuwaException(io.grpc.Status.Code.NOT_FOUND,
                "no member named or with the ID '" + member + "'; the members are: "
                    + members.stream().map(ClusterClient.Member::name).toList()));
        List<ClusterClient.Member> remaining;
        try {
          remaining = client.cluster().removeMember(target.id());
        } catch (NuwaException e) {
          throw connection.explained(e, "remove member " + target.name());
        }
        System.out.printf("Removed member %s (%x).%n", target.name(), target.id());
        remaining.forEach(m -> System.out.println(Members.describe(m)));
        return 0;
      }
    }
  }

  @Command(name = "alarms", mixinStandardHelpOptions = true,
      description = {"List the raised alarms: the member that raised each, and its type.",
          "A member raises NOSPACE when a write would take the store past its quota",
          "(apsara run nuwa --quota-backend-bytes); every member then refuses writes that add",
          "data. Make room (delete keys, compact), then clear it with 'alarms disarm'."},
      subcommands = NuwaCommand.AlarmsDisarm.class)
  static final class Alarms implements Callable<Integer> {
    @Mixin Connection connection;

    @Override
    public Integer call() {
      try (NuwaClient client = connection.open()) {
        List<ClusterClient.Alarm> alarms = client.cluster().alarms();
        if (alarms.isEmpty()) {
          System.out.println("No alarms.");
        }
        alarms.forEach(alarm -> System.out.println(describe(alarm)));
        return 0;
      }
    }

    static String describe(ClusterClient.Alarm alarm) {
      return String.format("%x, %s", alarm.memberId(), alarm.type());
    }
  }

  @Command(name = "disarm", mixinStandardHelpOptions = true,
      description = {"Clear every raised alarm; prints those it cleared.",
          "A write past the quota raises NOSPACE again: make room first."})
  static final class AlarmsDisarm implements Callable<Integer> {
    @Mixin Connection connection;

    @Override
    public Integer call() {
      try (NuwaClient client = connection.open()) {
        List<ClusterClient.Alarm> cleared;
        try {
          cleared = client.cluster().disarmAlarms();
        } catch (NuwaException e) {
          throw connection.explained(e, "clear alarms");
        }
        if (cleared.isEmpty()) {
          System.out.println("No alarms to clear.");
        }
        cleared.forEach(alarm -> System.out.println("Cleared " + Alarms.describe(alarm)));
        return 0;
      }
    }
  }

  @Command(name = "status", mixinStandardHelpOptions = true,
      description = "Ask each endpoint for its status: member, leader, Raft term and index, revision.")
  static final class Status implements Callable<Integer> {
    @Mixin Connection connection;

    @Override
    public Integer call() {
      int failures = 0;
      try (NuwaClient client = connection.open()) {
        System.out.printf("%-22s %-17s %-8s %-7s %-10s %-10s %-10s %s%n", "ENDPOINT", "MEMBER ID",
            "LEADER", "TERM", "INDEX", "APPLIED", "REVISION", "ERRORS");
        for (String endpoint : connection.endpoints) {
          try {
            ClusterClient.MemberStatus status = client.cluster().status(endpoint);
            System.out.printf("%-22s %-17x %-8s %-7d %-10d %-10d %-10d %s%n", status.endpoint(),
                status.memberId(), status.isLeader(), status.raftTerm(), status.raftIndex(),
                status.raftAppliedIndex(), status.revision(), String.join("; ", status.errors()));
          } catch (NuwaException e) {
            failures++;
            System.out.printf("%-22s unreachable: %s%n", endpoint, e.getMessage());
          }
        }
      }
      return failures == 0 ? 0 : 1;
    }
  }
}
