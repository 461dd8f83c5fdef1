package org.apsara.testkit.history;

import static org.apsara.testkit.history.RegisterOp.cas;
import static org.apsara.testkit.history.RegisterOp.read;
import static org.apsara.testkit.history.RegisterOp.write;
import static org.apsara.testkit.history.RegisterResult.casFailed;
import static org.apsara.testkit.history.RegisterResult.ok;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.apsara.testkit.history.LinearizabilityResult.Verdict;
import org.junit.jupiter.api.Test;

/** Hand-built histories with explicit times in nanoseconds and a known answer. */
class LinearizabilityCheckerTest {
  private final History<RegisterOp<String>, RegisterResult<String>> history = new History<>();
  private final LinearizabilityChecker<CasRegisterModel.State<String>, RegisterOp<String>,
      RegisterResult<String>> checker = new LinearizabilityChecker<>(new CasRegisterModel<>());

  @Test
  void emptyHistoryIsLinearizable() {
    LinearizabilityResult<?, ?> result = checker.check(history);
    assertThat(result.verdict()).isEqualTo(Verdict.LINEARIZABLE);
    assertThat(result.operations()).isZero();
  }

  @Test
  void sequentialHistoryOfAllOperationKindsIsLinearizable() {
    history.addOk(0, read(), 0, 5, RegisterResult.read(null));
    history.addOk(0, write("a"), 10, 20, ok());
    history.addOk(1, read(), 30, 40, RegisterResult.read("a"));
    history.addOk(1, cas("a", "b"), 50, 60, ok());
    history.addOk(0, cas("a", "c"), 70, 80, casFailed());
    history.addOk(0, read(), 90, 100, RegisterResult.read("b"));
    history.addOk(1, write(null), 110, 120, ok());
    history.addOk(1, cas(null, "d"), 130, 140, ok());
    history.addOk(0, read(), 150, 160, RegisterResult.read("d"));

    LinearizabilityResult<?, ?> result = checker.check(history);

    assertThat(result.isLinearizable()).as(result.explain()).isTrue();
  }

  @Test
  void sequentialHistoryWithAWrongResultIsNot() {
    history.addOk(0, write("a"), 0, 10, ok());
    history.addOk(0, cas("b", "c"), 20, 30, ok()); // claims to have swapped, but the value is "a"

    LinearizabilityResult<?, ?> result = checker.check(history);

    assertThat(result.verdict()).isEqualTo(Verdict.NOT_LINEARIZABLE);
    assertThat(result.blockingOperation().orElseThrow().operation()).isEqualTo(cas("b", "c"));
  }

  @Test
  void overlappingOperationsMayTakeEffectInEitherOrder() {
    // write(b) overlaps write(a) and ends first, yet a later read sees "a": a took effect last.
    history.addOk(0, write("a"), 0, 100, ok());
    history.addOk(1, write("b"), 10, 90, ok());
    history.addOk(2, read(), 95, 120, RegisterResult.read("a"));
    // A read overlapping a write may see the old or the new value.
    history.addOk(0, write("c"), 130, 200, ok());
    history.addOk(1, read(), 140, 150, RegisterResult.read("a"));
    history.addOk(2, read(), 160, 170, RegisterResult.read("c"));

    LinearizabilityResult<?, ?> result = checker.check(history);

    assertThat(result.isLinearizable()).as(result.explain()).isTrue();
  }

  @Test
  void operationsThatTouchAtOneInstantCountAsConcurrent() {
    history.addOk(0, write("a"), 0, 10, ok());
    history.addOk(1, read(), 10, 20, RegisterResult.read(null));

    assertThat(checker.check(history).isLinearizable()).isTrue();
  }

  @Test
  void staleReadAfterANewerWriteCompletedIsCaughtAndExplained() {
    long ms = 1_000_000; // History times are nanoseconds; the explanation shows milliseconds.
    history.addOk(0, write("a"), 0, 10 * ms, ok());
    history.addOk(0, write("b"), 20 * ms, 30 * ms, ok());
    history.addOk(1, read(), 40 * ms, 50 * ms, RegisterResult.read("a"));

    LinearizabilityResult<RegisterOp<String>, RegisterResult<String>> result =
        checker.check(history);

    assertThat(result.verdict()).isEqualTo(Verdict.NOT_LINEARIZABLE);
    assertThat(result.blockingOperation().orElseThrow().operation()).isEqualTo(read());
    assertThat(result.longestLinearizablePrefix()).extracting(History.Entry::operation)
        .containsExactly(write("a"), write("b"));
    assertThat(result.stateAfterPrefix()).hasValue(new CasRegisterModel.State<>("b"));
    assertThat(result.candidates()).extracting(History.Entry::operation).containsExactly(read());
    assertThat(result.explain())
        .contains("NOT_LINEARIZABLE")
        .contains("no valid order places p1 read -> a  [invoked 40.000 ms, completed 50.000 ms]")
        .contains("longest linearizable prefix: 2 operations, leaving the model in state value=b")
        .contains("p0 write(b) -> ok  [invoked 20.000 ms, completed 30.000 ms]")
        .contains("p1 read -> a  [invoked 40.000 ms, completed 50.000 ms]  <- impossible");
  }

  @Test
  void newValueThenOldValueInRealTimeOrderIsCaughtEvenWhenBothOverlapTheWrite() {
    history.addOk(0, write("a"), 0, 5, ok());
    history.addOk(0, write("b"), 10, 50, ok());
    history.addOk(1, read(), 20, 30, RegisterResult.read("b"));
    history.addOk(2, read(), 40, 45, RegisterResult.read("a")); // began after "b" was seen

    LinearizabilityResult<?, ?> result = checker.check(history);

    assertThat(result.verdict()).isEqualTo(Verdict.NOT_LINEARIZABLE);
  }

  @Test
  void twoCompareAndSetsFromTheSameValueCannotBothSucceed() {
    history.addOk(0, cas(null, "a"), 0, 100, ok());
    history.addOk(1, cas(null, "b"), 0, 100, ok());

    assertThat(checker.check(history).verdict()).isEqualTo(Verdict.NOT_LINEARIZABLE);
  }

  @Test
  void unknownWriteThatTookEffectIsAccepted() {
    history.addOk(0, write("a"), 0, 10, ok());
    history.addUnknown(1, write("b"), 20);
    history.addOk(0, read(), 100, 110, RegisterResult.read("b"));
    history.addOk(0, read(), 120, 130, RegisterResult.read("b"));

    LinearizabilityResult<?, ?> result = checker.check(history);

    assertThat(result.isLinearizable()).as(result.explain()).isTrue();
  }

  @Test
  void unknownWriteThatNeverTookEffectIsAccepted() {
    history.addOk(0, write("a"), 0, 10, ok());
    history.addUnknown(1, write("b"), 20);
    history.addOk(0, read(), 100, 110, RegisterResult.read("a"));
    history.addOk(0, read(), 120, 130, RegisterResult.read("a"));

    LinearizabilityResult<?, ?> result = checker.check(history);

    assertThat(result.isLinearizable()).as(result.explain()).isTrue();
  }

  @Test
  void unknownWriteThatTookEffectLateIsAccepted() {
    history.addOk(0, write("a"), 0, 10, ok());
    history.addUnknown(1, write("b"), 20);
    history.addOk(0, read(), 100, 110, RegisterResult.read("a"));
    history.addOk(0, read(), 500, 510, RegisterResult.read("b"));

    assertThat(checker.check(history).isLinearizable()).isTrue();
  }

  @Test
  void unknownWriteCannotTakeEffectBeforeItWasInvoked() {
    history.addOk(0, write("a"), 0, 10, ok());
    history.addOk(0, read(), 20, 30, RegisterResult.read("b"));
    history.addUnknown(1, write("b"), 40);

    assertThat(checker.check(history).verdict()).isEqualTo(Verdict.NOT_LINEARIZABLE);
  }

  @Test
  void unknownWriteTakesEffectAtMostOnce() {
    history.addOk(0, write("a"), 0, 10, ok());
    history.addUnknown(1, write("b"), 20);
    history.addOk(0, read(), 30, 40, RegisterResult.read("b"));
    history.addOk(0, read(), 50, 60, RegisterResult.read("a")); // "b" cannot be undone
    history.addOk(0, read(), 70, 80, RegisterResult.read("b"));

    assertThat(checker.check(history).verdict()).isEqualTo(Verdict.NOT_LINEARIZABLE);
  }

  @Test
  void unknownCompareAndSetMayHaveSwappedOrNot() {
    history.addOk(0, write("a"), 0, 10, ok());
    history.addUnknown(1, cas("a", "b"), 20);
    history.addOk(0, read(), 100, 110, RegisterResult.read("b"));
    assertThat(checker.check(history).isLinearizable()).isTrue();

    History<RegisterOp<String>, RegisterResult<String>> notSwapped = new History<>();
    notSwapped.addOk(0, write("a"), 0, 10, ok());
    notSwapped.addUnknown(1, cas("a", "b"), 20);
    notSwapped.addOk(0, read(), 100, 110, RegisterResult.read("a"));
    assertThat(checker.check(notSwapped).isLinearizable()).isTrue();

    History<RegisterOp<String>, RegisterResult<String>> wrongExpectation = new History<>();
    wrongExpectation.addOk(0, write("a"), 0, 10, ok());
    wrongExpectation.addUnknown(1, cas("x", "b"), 20);
    wrongExpectation.addOk(0, read(), 100, 110, RegisterResult.read("b"));
    assertThat(checker.check(wrongExpectation).verdict()).isEqualTo(Verdict.NOT_LINEARIZABLE);
  }

  @Test
  void unknownReadsAreDroppedAndFailedOperationsIgnored() {
    history.addOk(0, write("a"), 0, 10, ok());
    history.addUnknown(1, read(), 15);
    history.addFailed(2, write("b"), 20, 30);
    history.addOk(0, read(), 40, 50, RegisterResult.read("a"));
    assertThat(checker.check(history).isLinearizable()).isTrue();

    history.addOk(0, read(), 60, 70, RegisterResult.read("b")); // only a failed write wrote "b"
    assertThat(checker.check(history).verdict()).isEqualTo(Verdict.NOT_LINEARIZABLE);
  }

  @Test
  void pendingOperationsCountAsUnknown() {
    history.addOk(0, write("a"), 0, 10, ok());
    history.invoke(1, write("b")); // never completed
    history.addOk(0, read(), Long.MAX_VALUE - 2, Long.MAX_VALUE - 1, RegisterResult.read("b"));

    assertThat(checker.check(history).isLinearizable()).isTrue();
  }

  @Test
  void partitionsAreCheckedPerKeyAndTheFailingKeyIsNamed() {
    history.addOk(0, write("x", "1"), 0, 10, ok());
    history.addOk(1, write("y", "2"), 0, 10, ok());
    history.addOk(0, read("x"), 20, 30, RegisterResult.read("1"));
    history.addOk(1, read("y"), 20, 30, RegisterResult.read("2"));
    // Checked as one register the reads contradict each other; per key they are fine.
    assertThat(checker.check(history).verdict()).isEqualTo(Verdict.NOT_LINEARIZABLE);
    LinearizabilityResult<?, ?> perKey = checker.checkPartitioned(history, RegisterOp::key);
    assertThat(perKey.isLinearizable()).as(perKey.explain()).isTrue();
    assertThat(perKey.partitions()).isEqualTo(2);

    history.addOk(1, write("y", "3"), 40, 50, ok());
    history.addOk(2, read("y"), 60, 70, RegisterResult.read("2"));
    LinearizabilityResult<?, ?> stale = checker.checkPartitioned(history, RegisterOp::key);
    assertThat(stale.verdict()).isEqualTo(Verdict.NOT_LINEARIZABLE);
    assertThat(stale.partitionKey()).hasValue("y");
    assertThat(stale.explain()).contains("key: y");
  }

  @Test
  void exhaustedBudgetGivesUnknownInsteadOfRunningForever() {
    // Many overlapping writes and a read of a value nobody wrote: proving it impossible means
    // trying every subset of the writes.
    for (int i = 0; i < 24; i++) {
      history.addOk(i, write("v" + i), 0, 1000, ok());
    }
    history.addOk(99, read(), 10, 2000, RegisterResult.read("nobody"));

    LinearizabilityChecker<CasRegisterModel.State<String>, RegisterOp<String>,
        RegisterResult<String>> small =
        new LinearizabilityChecker<>(new CasRegisterModel<>(), 5_000, Duration.ofSeconds(10));
    LinearizabilityResult<?, ?> result = small.check(history);

    assertThat(result.verdict()).isEqualTo(Verdict.UNKNOWN);
    assertThat(result.isLinearizable()).isFalse();
    assertThat(result.unknownReason()).hasValueSatisfying(
        reason -> assertThat(reason).contains("gave up after 5000 model steps"));
    assertThat(result.steps()).isEqualTo(5_001);
  }

  @Test
  void resultOfTheWrongKindIsAnError() {
    history.addOk(0, write("a"), 0, 10, RegisterResult.read("a"));

    assertThatThrownBy(() -> checker.check(history))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("does not fit write(a)");
  }
}
