package org.apsara.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.apsara.nuwa.client.ClusterClient;
import org.apsara.nuwa.client.GetOptions;
import org.apsara.nuwa.client.KeyRange;
import org.apsara.nuwa.client.KeyValue;
import org.apsara.nuwa.client.NuwaClient;
import org.apsara.testkit.ChildProcess;
import org.apsara.testkit.Ports;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Replacing a lost machine, as an operator does it with separate OS processes: a member is killed
 * for good, {@code apsara nuwa members remove} takes it out, and a new member started with
 * {@code apsara run nuwa --join} is brought up to date and added. Every write acknowledged before,
 * during and after is there, on every member, after all of them are killed and restarted.
 */
class NuwaMemberReplaceProcessTest {
  private static final Duration START_TIMEOUT = Duration.ofSeconds(60);

  @TempDir Path dir;
  private final List<Integer> raftPorts = Ports.freePorts(4);
  private final List<Integer> clientPorts = Ports.freePorts(4);
  private final ChildProcess[] members = new ChildProcess[4];

  @AfterEach
  void stopAll() {
    for (ChildProcess member : members) {
      if (member != null) {
        member.close();
      }
    }
  }

  @Test
  void aLostMemberIsRemovedAndReplacedWithoutLosingAWrite() {
    String founders = "n1=127.0.0.1:" + raftPorts.get(0) + ",n2=127.0.0.1:" + raftPorts.get(1)
        + ",n3=127.0.0.1:" + raftPorts.get(2);
    for (int i = 0; i < 3; i++) {
      launch(i, "--peers", founders);
    }
    for (int i = 0; i < 3; i++) {
      awaitServing(i);
    }
    try (NuwaClient client = client(0, 1, 2)) {
      await().atMost(START_TIMEOUT).ignoreExceptions().until(() -> {
        client.kv().put("key-00000", "value-0");
        return true;
      });
      for (int i = 1; i < 200; i++) {
        client.kv().put(String.format("key-%05d", i), "value-" + i);
      }
    }

    members[2].kill();
    CliRun.Result removed = CliRun.apsara("nuwa", "members", "remove", "n3",
        "--endpoints", endpoint(0) + "," + endpoint(1), "--timeout", "20s");
    assertThat(removed.exitCode()).as(removed.err()).isZero();
    assertThat(removed.out()).contains("Removed member n3").doesNotContain(", n3, ");

    try (NuwaClient client = client(0, 1)) {
      for (int i = 200; i < 300; i++) {
        client.kv().put(String.format("key-%05d", i), "value-" + i);
      }
    }
    launch(3, "--join", "--peers",
        "n1=127.0.0.1:" + raftPorts.get(0) + ",n4=127.0.0.1:" + raftPorts.get(3));
    awaitServing(3);
    try (NuwaClient client = client(3)) {
      await().atMost(START_TIMEOUT).untilAsserted(() ->
          assertThat(client.cluster().members()).extracting(ClusterClient.Member::name)
              .containsExactly("n1", "n2", "n4"));
      for (int i = 300; i < 400; i++) {
        client.kv().put(String.format("key-%05d", i), "value-" + i);
      }
    }

    for (int i : new int[] {0, 1, 3}) {
      members[i].kill();
    }
    // Restarted with the flags they first had: the membership in their logs is what counts.
    launch(0, "--peers", founders);
    launch(1, "--peers", founders);
    launch(3, "--join", "--peers",
        "n1=127.0.0.1:" + raftPorts.get(0) + ",n4=127.0.0.1:" + raftPorts.get(3));
    for (int i : new int[] {0, 1, 3}) {
      awaitServing(i);
    }
    for (int member : new int[] {0, 1, 3}) {
      try (NuwaClient client = client(member)) {
        List<KeyValue> kvs = await().atMost(START_TIMEOUT).ignoreExceptions().until(
            () -> client.kv().get(KeyRange.prefix("key-"), GetOptions.DEFAULT).kvs(),
            list -> true);
        List<String> values = new ArrayList<>();
        kvs.forEach(kv -> values.add(kv.value().toStringUtf8()));
        assertThat(values).hasSize(400);
        for (int i = 0; i < 400; i++) {
          assertThat(values.get(i)).isEqualTo("value-" + i);
        }
        assertThat(client.cluster().members()).extracting(ClusterClient.Member::name)
            .containsExactly("n1", "n2", "n4");
      }
    }
  }

  private void launch(int i, String... membership) {
    List<String> args = new ArrayList<>(List.of("run", "nuwa", "--id", "n" + (i + 1)));
    args.addAll(List.of(membership));
    args.addAll(List.of("--data", dir.resolve("n" + (i + 1)).toString(),
        "--client-port", Integer.toString(clientPorts.get(i)),
        "--election-timeout", "300ms",
        "--snapshot-every", "100"));
    members[i] = ChildProcess.builder(Apsara.class)
        .name("nuwa-n" + (i + 1))
        .jvmArgs("-Xmx256m", "-XX:+UseSerialGC", "-Djava.net.preferIPv4Stack=true")
        .args(args.toArray(String[]::new))
        .logFile(dir.resolve("n" + (i + 1) + ".out"))
        .start();
  }

  private void awaitServing(int i) {
    members[i].awaitLogLine(Pattern.compile("serving etcd clients on"), START_TIMEOUT);
  }

  private String endpoint(int i) {
    return "127.0.0.1:" + clientPorts.get(i);
  }

  private NuwaClient client(int... indexes) {
    List<String> endpoints = new ArrayList<>();
    for (int i : indexes) {
      endpoints.add(endpoint(i));
    }
    return NuwaClient.builder().endpoints(endpoints).requestTimeout(Duration.ofSeconds(10))
        .build();
  }
}
