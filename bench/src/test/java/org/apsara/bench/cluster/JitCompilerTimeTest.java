package org.apsara.bench.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JitCompilerTimeTest {
  private static void thread(Path tasks, String id, String name, String schedstat)
      throws Exception {
    Path dir = Files.createDirectories(tasks.resolve(id));
    Files.writeString(dir.resolve("comm"), name + "\n");
    Files.writeString(dir.resolve("schedstat"), schedstat + "\n");
  }

  @Test
  void sumsTheCompilerThreadsAndNoOtherThread(@TempDir Path tasks) throws Exception {
    thread(tasks, "100", "java", "900000000 10 3");
    thread(tasks, "101", "C2 CompilerThre", "5000 10 2");
    thread(tasks, "102", "C1 CompilerThre", "7000 3 1");
    thread(tasks, "103", "grpc-default-wo", "123456 1 1");

    assertThat(JitCompilerTime.ofTaskDirectory(tasks)).contains(Duration.ofNanos(12_000));
  }

  @Test
  void aProcessWithoutCompilerThreadsReadsZero(@TempDir Path tasks) throws Exception {
    thread(tasks, "200", "etcd", "900000000 10 3");

    assertThat(JitCompilerTime.ofTaskDirectory(tasks)).contains(Duration.ZERO);
  }

  @Test
  void aProcessThatIsGoneReadsEmpty(@TempDir Path dir) {
    assertThat(JitCompilerTime.ofTaskDirectory(dir.resolve("no-such-process"))).isEmpty();
  }

  @Test
  void thisJvmHasCompiledSomething() {
    assumeTrue(Files.isDirectory(Path.of("/proc/self/task")), "needs Linux's /proc");

    assertThat(JitCompilerTime.ofThisJvm()).hasValueSatisfying(
        time -> assertThat(time).isPositive());
  }
}
