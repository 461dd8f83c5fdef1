package org.apsara.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apsara.nuwa.client.GetOptions;
import org.apsara.nuwa.client.KeyRange;
import org.apsara.nuwa.client.KeyValue;
import org.apsara.nuwa.client.NuwaClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A three-member cluster of separate OS processes, started with {@code apsara run nuwa}: every
 * write acknowledged before all members are killed with SIGKILL is there after they restart.
 */
class NuwaProcessRestartTest {
  @TempDir Path dir;

  @Test
  void everyAcknowledgedWriteSurvivesKillingEveryMember() {
    int keys = 300;
    try (NuwaProcessCluster cluster = NuwaProcessCluster.start(dir, 3)) {
      try (NuwaClient client = client(cluster)) {
        for (int i = 0; i < keys; i++) {
          client.kv().put(String.format("key-%05d", i), "value-" + i);
        }
      }
      for (int i = 0; i < cluster.size(); i++) {
        cluster.kill(i);
      }
      for (int i = 0; i < cluster.size(); i++) {
        cluster.launch(i);
      }
      for (int i = 0; i < cluster.size(); i++) {
        cluster.awaitServing(i);
      }
      cluster.awaitLeader();
      // Every member, read on its own, has every key.
      for (int member = 0; member < cluster.size(); member++) {
        try (NuwaClient client = NuwaClient.builder().endpoints(cluster.endpoint(member))
            .requestTimeout(Duration.ofSeconds(10)).build()) {
          List<KeyValue> kvs = client.kv().get(KeyRange.prefix("key-"), GetOptions.DEFAULT).kvs();
          List<String> values = new ArrayList<>();
          kvs.forEach(kv -> values.add(kv.value().toStringUtf8()));
          assertThat(values).hasSize(keys);
          for (int i = 0; i < keys; i++) {
            assertThat(values.get(i)).isEqualTo("value-" + i);
          }
        }
      }
    }
  }

  private static NuwaClient client(NuwaProcessCluster cluster) {
    return NuwaClient.builder().endpoints(cluster.endpoints())
        .requestTimeout(Duration.ofSeconds(10)).build();
  }
}
