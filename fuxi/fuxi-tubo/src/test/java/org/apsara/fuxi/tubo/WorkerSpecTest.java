package org.apsara.fuxi.tubo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class WorkerSpecTest {
  private static WorkerSpec spec(String id, List<String> command, int cpu, long memory) {
    return WorkerSpec.of(id, "app", command, WorkerClass.BATCH, cpu, memory);
  }

  @Test
  void idsThatCouldEscapeTheSandboxRootAreRefused() {
    for (String id : List.of("", "..", ".hidden", "a/b", "a b", "x".repeat(129))) {
      assertThatThrownBy(() -> spec(id, List.of("true"), 100, 64))
          .as(id).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("workerId");
    }
  }

  @Test
  void limitsAreChecked() {
    assertThatThrownBy(() -> spec("w", List.of(), 100, 64))
        .hasMessageContaining("command is empty");
    assertThatThrownBy(() -> spec("w", List.of("true"), 5, 64))
        .hasMessageContaining("cpuMillicores 5 is outside");
    assertThatThrownBy(() -> spec("w", List.of("true"), 100, 1))
        .hasMessageContaining("memoryMib 1 is outside");
    assertThatThrownBy(() -> spec("w", List.of("a\0b"), 100, 64))
        .hasMessageContaining("contains NUL");
    assertThatThrownBy(() -> spec("w", Collections.nCopies(5000, "x"), 100, 64))
        .hasMessageContaining("5000 command arguments");
    assertThatThrownBy(() -> spec("w", List.of("x".repeat(600 * 1024)), 100, 64))
        .hasMessageContaining("bytes, more than the limit");
    assertThatThrownBy(() -> new WorkerSpec("w", "app", WorkerSpec.DEFAULT_ROLE, List.of("true"),
        Map.of("A=B", "c"), WorkerClass.BATCH, 100, 64))
        .hasMessageContaining("bad environment variable name");
  }

  @Test
  void machineWorkerIdsKeepApplicationsApartAndComeApartAgain() {
    String id = WorkerSpec.machineWorkerId("app-1", "am-1");
    assertThat(id).isEqualTo("app-1.am-1");
    WorkerSpec spec = new WorkerSpec(id, "app-1", "fuxi.am", List.of("true"), Map.of(),
        WorkerClass.BATCH, 100, 64);
    assertThat(spec.applicationWorkerId()).isEqualTo("am-1");
    assertThat(WorkerSpec.of("w", "app", List.of("true"), WorkerClass.BATCH, 100, 64)
        .applicationWorkerId()).isEqualTo("w");
    assertThatThrownBy(() -> WorkerSpec.machineWorkerId("a".repeat(100), "w".repeat(40)))
        .hasMessageContaining("application id and worker id together");
    assertThatThrownBy(() -> spec.withRole("a/b")).hasMessageContaining("role 'a/b'");
  }
}
