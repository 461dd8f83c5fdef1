package org.apsara.testkit.history;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import org.apsara.common.time.ManualClock;
import org.junit.jupiter.api.Test;

class HistoryTest {
  private final ManualClock clock = new ManualClock();
  private final History<RegisterOp<String>, RegisterResult<String>> history = new History<>(clock);

  @Test
  void recordsInvocationAndCompletionTimesAndOutcomes() {
    History.Op<RegisterOp<String>, RegisterResult<String>> write =
        history.invoke(1, RegisterOp.write("a"));
    clock.advance(Duration.ofNanos(5));
    History.Op<RegisterOp<String>, RegisterResult<String>> read = history.invoke(2,
        RegisterOp.read());
    clock.advance(Duration.ofNanos(5));
    write.ok(RegisterResult.ok());
    History.Op<RegisterOp<String>, RegisterResult<String>> lost =
        history.invoke(3, RegisterOp.write("b"));
    History.Op<RegisterOp<String>, RegisterResult<String>> rejected =
        history.invoke(4, RegisterOp.write("c"));
    clock.advance(Duration.ofNanos(5));
    read.ok(RegisterResult.read("a"));
    lost.unknown();
    rejected.fail();
    history.invoke(5, RegisterOp.read());

    List<History.Entry<RegisterOp<String>, RegisterResult<String>>> entries = history.entries();

    assertThat(entries).hasSize(5);
    assertThat(entries.get(0)).isEqualTo(new History.Entry<>(0, 1, RegisterOp.write("a"), 0, 10,
        History.Outcome.OK, RegisterResult.ok()));
    assertThat(entries.get(1)).isEqualTo(new History.Entry<>(1, 2, RegisterOp.read(), 5, 15,
        History.Outcome.OK, RegisterResult.read("a")));
    assertThat(entries.get(2).outcome()).isEqualTo(History.Outcome.UNKNOWN);
    assertThat(entries.get(2).completeNanos()).isEqualTo(History.NEVER);
    assertThat(entries.get(2).isIndeterminate()).isTrue();
    assertThat(entries.get(3).outcome()).isEqualTo(History.Outcome.FAILED);
    assertThat(entries.get(3).completeNanos()).isEqualTo(15);
    assertThat(entries.get(4).outcome()).isEqualTo(History.Outcome.PENDING);
    assertThat(entries.get(4).isIndeterminate()).isTrue();
    assertThat(entries.get(1)).hasToString("p2 read -> a");
  }

  @Test
  void anOutcomeIsRecordedOnce() {
    History.Op<RegisterOp<String>, RegisterResult<String>> op =
        history.invoke(1, RegisterOp.write("a"));
    op.ok(RegisterResult.ok());

    assertThatThrownBy(op::unknown).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("was recorded already");
  }

  @Test
  void aProcessHasOnePendingOperationAtATime() {
    history.invoke(1, RegisterOp.write("a"));

    assertThatThrownBy(() -> history.invoke(1, RegisterOp.read()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("process 1 still has a pending operation: p1 write(a) -> pending");
    history.invoke(2, RegisterOp.read());
  }

  @Test
  void handBuiltOperationsMustNotCompleteBeforeTheyStart() {
    assertThatThrownBy(() -> history.addOk(1, RegisterOp.read(), 10, 5, RegisterResult.read(null)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("before its invocation");
  }
}
