package org.apsara.pangu.chunkserver.server;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs {@link WriteThroughputBenchmark} from Maven; skipped unless asked for, since it takes a
 * minute and its numbers only mean something on a quiet machine:
 *
 * <pre>
 * ./mvnw -o -q -pl pangu/pangu-chunkserver test -Dtest=WriteThroughputBenchmarkRunner \
 *     -Dpangu.benchmark=true [-Dpangu.benchmark.mib=256] [-Dpangu.benchmark.rounds=3]
 * </pre>
 *
 * The table is printed and written to {@code target/write-throughput-benchmark.txt}.
 */
class WriteThroughputBenchmarkRunner {
  @TempDir Path directory;

  @Test
  @EnabledIfSystemProperty(named = "pangu.benchmark", matches = "true")
  void measure() throws Exception {
    long mib = Long.getLong("pangu.benchmark.mib", 256);
    int rounds = Integer.getInteger("pangu.benchmark.rounds", 3);
    String table = new WriteThroughputBenchmark(directory, mib << 20, rounds, false).run();
    System.out.println(table);
    Files.writeString(Path.of("target", "write-throughput-benchmark.txt"), table,
        StandardCharsets.UTF_8);
  }
}
