package org.apsara.nuwa.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.etcd.jetcd.api.AlarmRequest;
import io.etcd.jetcd.api.AlarmType;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apsara.nuwa.server.grpc.ServerContext;
import org.apsara.nuwa.server.raft.proto.LogRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * etcd's own command-line client, unchanged, against a 3-member Nuwa group: the commands
 * platform engineers already type must work the same way.
 */
class EtcdctlCompatibilityTest {
  private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(20);
  @TempDir static Path dir;
  static NuwaTestCluster cluster;

  @BeforeAll
  static void startCluster() {
    assumeTrue(etcdctlInstalled(), "etcdctl is not installed (Debian package etcd-client)");
    cluster = NuwaTestCluster.start(dir.resolve("cluster"), 3);
  }

  @AfterAll
  static void stopCluster() {
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  void putGetDeleteAcrossMembers() throws Exception {
    assertThat(etcdctl(0, "put", "foo", "bar")).isEqualTo("OK");
    // Written through member 1, read through member 3: reads are linearizable by default.
    assertThat(etcdctl(2, "get", "foo")).isEqualTo("foo\nbar");
    assertThat(etcdctl(1, "put", "foo2", "baz")).isEqualTo("OK");
    assertThat(etcdctl(0, "get", "foo", "--prefix", "--print-value-only")).isEqualTo("bar\nbaz");
    assertThat(etcdctl(0, "get", "foo", "--prefix", "--keys-only")).isEqualTo("foo\n\nfoo2");
    assertThat(etcdctl(1, "del", "foo", "--prefix")).isEqualTo("2");
    assertThat(etcdctl(2, "get", "foo", "--prefix")).isEmpty();
    assertThat(etcdctl(2, "get", "foo", "--consistency=s")).isEmpty();
  }

  @Test
  void txnTakesTheRightBranch() throws Exception {
    etcdctl(0, "put", "txn-key", "v1");
    String script = "value(\"txn-key\") = \"v1\"\n\nput txn-key v2\nput txn-other yes\n\nput txn-key failed\n\n";
    assertThat(etcdctlWithInput(1, script, "txn")).startsWith("SUCCESS");
    assertThat(etcdctl(2, "get", "txn-key", "--print-value-only")).isEqualTo("v2");
    assertThat(etcdctl(2, "get", "txn-other", "--print-value-only")).isEqualTo("yes");
    assertThat(etcdctlWithInput(1, script, "txn")).startsWith("FAILURE");
    assertThat(etcdctl(2, "get", "txn-key", "--print-value-only")).isEqualTo("failed");
  }

  @Test
  void watchSeesHistoryAndLiveEvents() throws Exception {
    etcdctl(0, "put", "w/a", "1");
    String revisionLine = etcdctl(0, "get", "w/a", "--write-out=fields");
    Matcher m = Pattern.compile("\"ModRevision\" : (\\d+)").matcher(revisionLine);
    assertThat(m.find()).isTrue();
    long revision = Long.parseLong(m.group(1));
    Path out = dir.resolve("watch.out");
    Process watch = start(2, out, "watch", "w/", "--prefix", "--rev=" + revision, "--prev-kv");
    try {
      etcdctl(1, "put", "w/b", "2");
      etcdctl(0, "del", "w/a");
      await().atMost(COMMAND_TIMEOUT).untilAsserted(() -> assertThat(read(out))
          // A delete with --prev-kv prints the previous pair, then the deleted key with no value.
          .isEqualTo("PUT\nw/a\n1\nPUT\nw/b\n2\nDELETE\nw/a\n1\nw/a\n\n"));
    } finally {
      watch.destroyForcibly().waitFor();
    }
  }

  @Test
  void leaseGrantAttachRevokeAndList() throws Exception {
    String granted = etcdctl(0, "lease", "grant", "60");
    Matcher m = Pattern.compile("lease ([0-9a-f]+) granted with TTL\\(60s\\)").matcher(granted);
    assertThat(m.find()).as(granted).isTrue();
    String lease = m.group(1);
    assertThat(etcdctl(1, "put", "--lease=" + lease, "leased", "v")).isEqualTo("OK");
    assertThat(etcdctl(2, "lease", "timetolive", lease, "--keys"))
        .contains("granted with TTL(60s)").contains("attached keys([leased])");
    assertThat(etcdctl(0, "lease", "list")).contains(lease);
    assertThat(etcdctl(0, "lease", "keep-alive", "--once", lease)).contains("keepalived with TTL(60)");
    assertThat(etcdctl(1, "lease", "revoke", lease)).contains("revoked");
    assertThat(etcdctl(2, "get", "leased")).isEmpty();
    assertThat(etcdctlFails(0, "lease", "revoke", lease)).contains("requested lease not found");
  }

  @Test
  void lockRunsCommandWhileHoldingTheLock() throws Exception {
    assertThat(etcdctl(0, "lock", "my-lock", "echo", "locked")).isEqualTo("locked");
    assertThat(etcdctl(1, "lock", "my-lock", "echo", "again")).isEqualTo("again");
  }

  @Test
  void electionNamesTheLeader() throws Exception {
    Path out = dir.resolve("elect.out");
    Process candidate = start(0, out, "elect", "my-election", "alice");
    try {
      await().atMost(COMMAND_TIMEOUT).untilAsserted(() -> assertThat(read(out)).contains("alice"));
      Path observed = dir.resolve("observe.out");
      Process observer = start(1, observed, "elect", "-l", "my-election");
      try {
        await().atMost(COMMAND_TIMEOUT)
            .untilAsserted(() -> assertThat(read(observed)).contains("alice"));
      } finally {
        observer.destroyForcibly().waitFor();
      }
    } finally {
      candidate.destroyForcibly().waitFor();
    }
  }

  @Test
  void endpointStatusHealthAndMembers() throws Exception {
    String all = String.join(",", cluster.endpoints());
    String status = etcdctlAt(all, "endpoint", "status", "--write-out=table");
    for (String endpoint : cluster.endpoints()) {
      assertThat(status).contains(endpoint);
    }
    assertThat(status).contains("3.5.0");
    assertThat(etcdctlAt(all, "endpoint", "health")).contains("is healthy");
    String members = etcdctl(0, "member", "list");
    assertThat(members).contains("n1").contains("n2").contains("n3")
        .contains("http://" + cluster.endpoint(2));
    // Members join by themselves; etcd's add says how, and removing an unknown ID changes nothing.
    assertThat(etcdctlFails(0, "member", "add", "n4", "--peer-urls=http://127.0.0.1:1"))
        .contains("--join");
    assertThat(etcdctlFails(0, "member", "remove", "123abc")).contains("member not found");
    assertThat(etcdctl(1, "member", "list")).isEqualTo(members);
  }

  @Test
  void compactedRevisionIsRefused() throws Exception {
    etcdctl(0, "put", "c", "1");
    etcdctl(0, "put", "c", "2");
    String fields = etcdctl(0, "get", "c", "--write-out=fields");
    Matcher m = Pattern.compile("\"ModRevision\" : (\\d+)").matcher(fields);
    assertThat(m.find()).isTrue();
    long revision = Long.parseLong(m.group(1));
    assertThat(etcdctl(1, "compaction", Long.toString(revision))).contains("compacted revision");
    assertThat(etcdctlFails(2, "get", "c", "--rev=" + (revision - 1)))
        .contains("required revision has been compacted");
  }

  @Test
  void alarmListAndDisarm() throws Exception {
    // Raised as a member raises it when the store reaches its quota (QuotaTest fills a store).
    long member = ServerContext.memberId(cluster.name(0));
    AlarmRequest.Builder alarm = AlarmRequest.newBuilder().setMemberID(member)
        .setAlarm(AlarmType.NOSPACE);
    cluster.member(0).raft().propose(LogRecord.newBuilder().setAlarm(
        alarm.setAction(AlarmRequest.AlarmAction.ACTIVATE)).build()).get(20, TimeUnit.SECONDS);
    try {
      await().atMost(COMMAND_TIMEOUT).untilAsserted(() -> assertThat(etcdctl(2, "alarm", "list"))
          .isEqualTo("memberID:" + member + " alarm:NOSPACE"));
      assertThat(etcdctlFails(1, "put", "full", "x")).contains("database space exceeded");
      assertThat(etcdctl(0, "alarm", "disarm")).contains("alarm:NOSPACE");
      await().atMost(COMMAND_TIMEOUT).untilAsserted(() ->
          assertThat(etcdctl(1, "alarm", "list")).isEmpty());
      assertThat(etcdctl(1, "put", "full", "x")).isEqualTo("OK");
    } finally {
      // The other tests share the cluster: never leave it refusing writes.
      cluster.member(0).raft().propose(LogRecord.newBuilder().setAlarm(
          alarm.setAction(AlarmRequest.AlarmAction.DEACTIVATE)).build()).get(20, TimeUnit.SECONDS);
    }
  }

  // ------------------------------------------------------------------ running etcdctl

  private static boolean etcdctlInstalled() {
    try {
      return new ProcessBuilder("etcdctl", "version").start().waitFor(10, TimeUnit.SECONDS);
    } catch (IOException | InterruptedException e) {
      return false;
    }
  }

  private static String etcdctl(int member, String... args) throws Exception {
    return etcdctlAt(cluster.endpoint(member), args);
  }

  private static String etcdctlAt(String endpoints, String... args) throws Exception {
    Result result = run(endpoints, null, args);
    assertThat(result.exit).as("etcdctl %s failed: %s", List.of(args), result.output).isZero();
    return result.output.strip();
  }

  private static String etcdctlWithInput(int member, String input, String... args) throws Exception {
    Result result = run(cluster.endpoint(member), input, args);
    assertThat(result.exit).as("etcdctl %s failed: %s", List.of(args), result.output).isZero();
    return result.output.strip();
  }

  private static String etcdctlFails(int member, String... args) throws Exception {
    Result result = run(cluster.endpoint(member), null, args);
    assertThat(result.exit).as("etcdctl %s should fail", List.of(args)).isNotZero();
    return result.output;
  }

  private record Result(int exit, String output) {}

  private static Result run(String endpoints, String input, String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of("etcdctl", "--endpoints=" + endpoints,
        "--dial-timeout=5s", "--command-timeout=15s"));
    command.addAll(List.of(args));
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
    builder.environment().put("ETCDCTL_API", "3");
    Process process = builder.start();
    if (input != null) {
      process.getOutputStream().write(input.getBytes(StandardCharsets.UTF_8));
    }
    process.getOutputStream().close();
    if (!process.waitFor(COMMAND_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new AssertionError("etcdctl " + args[0] + " did not finish in " + COMMAND_TIMEOUT);
    }
    return new Result(process.exitValue(),
        new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
  }

  private static Process start(int member, Path out, String... args) throws IOException {
    List<String> command = new ArrayList<>(List.of("etcdctl",
        "--endpoints=" + cluster.endpoint(member)));
    command.addAll(List.of(args));
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(out.toFile());
    builder.environment().put("ETCDCTL_API", "3");
    return builder.start();
  }

  private static String read(Path file) throws IOException {
    return Files.exists(file) ? Files.readString(file) : "";
  }
}
