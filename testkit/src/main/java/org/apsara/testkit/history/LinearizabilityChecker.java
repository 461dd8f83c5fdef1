package org.apsara.testkit.history;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collections;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import org.apsara.testkit.history.LinearizabilityResult.Verdict;

/**
 * Decides whether a {@link History} is linearizable with respect to a {@link Model}: whether every
 * operation can be given a single point in time between its invocation and its completion such
 * that, taken in that order, the model accepts every result.
 *
 * <p>The search is Wing and Gong's: repeatedly pick an operation that could take effect next (one
 * invoked before the earliest pending completion), apply it to the model, and backtrack when the
 * model rejects a result or an operation's completion is reached before it could be placed. Lowe's
 * memoization makes it practical: a configuration (set of operations placed, model state) already
 * explored is not explored again. This is the algorithm of Knossos and Porcupine.
 *
 * <p>Operations with an unknown outcome may take effect at any point after their invocation or not
 * at all; read-only ones ({@link Model#isReadOnly}) are dropped since they constrain nothing.
 * Operations that definitely failed are ignored.
 *
 * <p>The problem is NP-complete, so the work is bounded: after {@code stepsMax} model steps or
 * {@code timeLimit} the verdict is {@link Verdict#UNKNOWN} rather than a search without end. Keep
 * histories to a few hundred operations per key and split multi-key histories with {@link
 * #checkPartitioned}.
 *
 * <p>Instances are immutable and may be shared; each check runs on the calling thread.
 *
 * @param <S> model state
 * @param <O> operation
 * @param <R> result
 */
public final class LinearizabilityChecker<S, O, R> {
  /** Default bound on model steps for one check. */
  public static final long STEPS_MAX_DEFAULT = 20_000_000L;

  /** Default bound on time for one check. */
  public static final Duration TIME_LIMIT_DEFAULT = Duration.ofSeconds(60);

  /** Model steps between looks at the clock. */
  private static final int STEPS_PER_CLOCK_CHECK = 1024;

  private final Model<S, O, R> model;
  private final long stepsMax;
  private final Duration timeLimit;

  /** A checker with {@link #STEPS_MAX_DEFAULT} and {@link #TIME_LIMIT_DEFAULT}. */
  public LinearizabilityChecker(Model<S, O, R> model) {
    this(model, STEPS_MAX_DEFAULT, TIME_LIMIT_DEFAULT);
  }

  /**
   * A checker that gives up with {@link Verdict#UNKNOWN} after {@code stepsMax} model steps or
   * {@code timeLimit}, whichever comes first, over all partitions of one check.
   */
  public LinearizabilityChecker(Model<S, O, R> model, long stepsMax, Duration timeLimit) {
    this.model = Objects.requireNonNull(model, "model");
    if (stepsMax <= 0) {
      throw new IllegalArgumentException("stepsMax must be positive, got " + stepsMax);
    }
    if (timeLimit.isNegative() || timeLimit.isZero()) {
      throw new IllegalArgumentException("timeLimit must be positive, got " + timeLimit);
    }
    this.stepsMax = stepsMax;
    this.timeLimit = timeLimit;
  }

  /** Checks the whole history as one object. */
  public LinearizabilityResult<O, R> check(History<O, R> history) {
    return check(history.entries());
  }

  /** Checks these entries (e.g. from {@link History#entries()}) as one object. */
  public LinearizabilityResult<O, R> check(List<History.Entry<O, R>> entries) {
    Budget budget = new Budget();
    return finish(new Search(null, entries, budget).run(), budget, 1, entries.size());
  }

  /**
   * Checks each key's operations separately, each from the model's initial state: a history of
   * independent objects (keys of a key-value store) is linearizable if and only if each object's
   * history is. Stops at the first partition that is not linearizable or exhausts the budget.
   *
   * @param keyFn the object an operation acts on; may return null (one more key)
   */
  public <K> LinearizabilityResult<O, R> checkPartitioned(
      History<O, R> history, Function<? super O, ? extends K> keyFn) {
    List<History.Entry<O, R>> entries = history.entries();
    Map<K, List<History.Entry<O, R>>> partitions = new LinkedHashMap<>();
    for (History.Entry<O, R> entry : entries) {
      partitions.computeIfAbsent(keyFn.apply(entry.operation()), key -> new ArrayList<>())
          .add(entry);
    }
    Budget budget = new Budget();
    for (Map.Entry<K, List<History.Entry<O, R>>> partition : partitions.entrySet()) {
      Outcome<O, R> outcome = new Search(partition.getKey(), partition.getValue(), budget).run();
      if (outcome.verdict != Verdict.LINEARIZABLE) {
        return finish(outcome, budget, partitions.size(), entries.size());
      }
    }
    return finish(Outcome.linearizable(), budget, partitions.size(), entries.size());
  }

  private LinearizabilityResult<O, R> finish(
      Outcome<O, R> outcome, Budget budget, int partitions, int operations) {
    return new LinearizabilityResult<>(outcome.verdict, outcome.partitionKey, outcome.prefix,
        outcome.stateAfterPrefix, outcome.blocking, outcome.candidates, outcome.rejected,
        outcome.unknownReason, budget.steps, Duration.ofNanos(System.nanoTime() - budget.start),
        partitions, operations, outcome.originNanos);
  }

  /** The work left for one check, shared by its partitions. */
  private final class Budget {
    final long start = System.nanoTime();
    final long deadline = start + timeLimit.toNanos();
    long steps;

    /** Counts one step; returns why to stop, or null to go on. */
    String spend() {
      steps++;
      if (steps > stepsMax) {
        return "gave up after " + stepsMax + " model steps";
      }
      if (steps % STEPS_PER_CLOCK_CHECK == 0 && System.nanoTime() - deadline > 0) {
        return "gave up after the time limit of " + timeLimit;
      }
      return null;
    }
  }

  /** What one search found; the fields other than the verdict explain a failure. */
  private static final class Outcome<O, R> {
    Verdict verdict;
    Object partitionKey;
    List<History.Entry<O, R>> prefix = List.of();
    Object stateAfterPrefix;
    History.Entry<O, R> blocking;
    List<History.Entry<O, R>> candidates = List.of();
    List<Boolean> rejected = List.of();
    String unknownReason;
    long originNanos;

    static <O, R> Outcome<O, R> linearizable() {
      Outcome<O, R> outcome = new Outcome<>();
      outcome.verdict = Verdict.LINEARIZABLE;
      return outcome;
    }
  }

  /**
   * An invocation or a completion in the doubly linked list of events still to place. Calls and
   * their returns are unlinked together when the call is placed and relinked on backtracking, in
   * the reverse order, which restores the list exactly ("dancing links").
   */
  private static final class Node {
    final int id;
    final boolean isCall;
    final long time;
    Node match; // a call's return
    Node prev;
    Node next;

    Node(int id, boolean isCall, long time) {
      this.id = id;
      this.isCall = isCall;
      this.time = time;
    }
  }

  private record Frame<S>(Node call, S stateBefore) {}

  private record Configuration(BitSet placed, Object state) {}

  private final class Search {
    private final Object partitionKey;
    private final List<History.Entry<O, R>> entries = new ArrayList<>();
    private final Budget budget;
    private final Node head = new Node(-1, false, Long.MIN_VALUE);

    // The best failed attempt so far, to explain a failure.
    private int bestDepth = -1;
    private List<Frame<S>> bestStack = List.of();
    private S bestState;
    private Node bestBlocking;
    private List<Node> bestCandidates = List.of();

    Search(Object partitionKey, List<History.Entry<O, R>> all, Budget budget) {
      this.partitionKey = partitionKey;
      this.budget = budget;
      for (History.Entry<O, R> entry : all) {
        if (entry.outcome() == History.Outcome.FAILED) {
          continue;
        }
        if (entry.isIndeterminate() && model.isReadOnly(entry.operation())) {
          continue;
        }
        entries.add(entry);
      }
      buildEventList();
    }

    private void buildEventList() {
      List<Node> events = new ArrayList<>(2 * entries.size());
      for (int id = 0; id < entries.size(); id++) {
        History.Entry<O, R> entry = entries.get(id);
        Node call = new Node(id, true, entry.invokeNanos());
        Node ret = new Node(id, false,
            entry.isIndeterminate() ? History.NEVER : entry.completeNanos());
        call.match = ret;
        events.add(call);
        events.add(ret);
      }
      // At equal times calls go first: the operations then count as concurrent, which can only
      // make the check more lenient, never report a violation that is not there.
      events.sort(Comparator.comparingLong((Node node) -> node.time)
          .thenComparing(node -> !node.isCall)
          .thenComparingInt(node -> node.id));
      Node last = head;
      for (Node node : events) {
        last.next = node;
        node.prev = last;
        last = node;
      }
    }

    Outcome<O, R> run() {
      S state = model.initialState();
      BitSet placed = new BitSet(entries.size());
      Set<Configuration> explored = new HashSet<>();
      Deque<Frame<S>> stack = new ArrayDeque<>();
      Node node = head.next;
      while (node != null) {
        if (node.isCall) {
          String stop = budget.spend();
          if (stop != null) {
            return unknown(stop);
          }
          History.Entry<O, R> entry = entries.get(node.id);
          Optional<S> next = entry.isIndeterminate()
              ? model.stepUnobserved(state, entry.operation())
              : model.step(state, entry.operation(), entry.result());
          if (next.isPresent()) {
            placed.set(node.id);
            if (explored.add(new Configuration((BitSet) placed.clone(), next.get()))) {
              stack.push(new Frame<>(node, state));
              state = next.get();
              lift(node);
              node = head.next;
              continue;
            }
            placed.clear(node.id);
          }
          node = node.next;
        } else {
          if (node.time == History.NEVER) {
            // Only operations with unknown outcomes are left: they may never have happened.
            return Outcome.linearizable();
          }
          // This operation's completion came before it could be placed: undo the last choice.
          remember(stack, state, node);
          if (stack.isEmpty()) {
            return notLinearizable();
          }
          Frame<S> frame = stack.pop();
          state = frame.stateBefore();
          placed.clear(frame.call().id);
          unlift(frame.call());
          node = frame.call().next;
        }
      }
      return Outcome.linearizable();
    }

    private void remember(Deque<Frame<S>> stack, S state, Node blocking) {
      if (stack.size() <= bestDepth) {
        return;
      }
      bestDepth = stack.size();
      List<Frame<S>> frames = new ArrayList<>(stack);
      Collections.reverse(frames); // the deque iterates from the top
      bestStack = frames;
      bestState = state;
      bestBlocking = blocking;
      List<Node> candidates = new ArrayList<>();
      for (Node node = head.next; node != blocking; node = node.next) {
        if (node.isCall) {
          candidates.add(node);
        }
      }
      bestCandidates = candidates;
    }

    private Outcome<O, R> notLinearizable() {
      Outcome<O, R> outcome = new Outcome<>();
      outcome.verdict = Verdict.NOT_LINEARIZABLE;
      outcome.partitionKey = partitionKey;
      outcome.originNanos = origin();
      List<History.Entry<O, R>> prefix = new ArrayList<>();
      bestStack.forEach(frame -> prefix.add(entries.get(frame.call().id)));
      outcome.prefix = List.copyOf(prefix);
      outcome.stateAfterPrefix = bestState;
      outcome.blocking = entries.get(bestBlocking.id);
      List<History.Entry<O, R>> candidates = new ArrayList<>();
      List<Boolean> rejected = new ArrayList<>();
      for (Node candidate : bestCandidates) {
        History.Entry<O, R> entry = entries.get(candidate.id);
        candidates.add(entry);
        Optional<S> next = entry.isIndeterminate()
            ? model.stepUnobserved(bestState, entry.operation())
            : model.step(bestState, entry.operation(), entry.result());
        rejected.add(next.isEmpty());
      }
      outcome.candidates = List.copyOf(candidates);
      outcome.rejected = List.copyOf(rejected);
      return outcome;
    }

    private Outcome<O, R> unknown(String reason) {
      Outcome<O, R> outcome = new Outcome<>();
      outcome.verdict = Verdict.UNKNOWN;
      outcome.partitionKey = partitionKey;
      outcome.unknownReason = reason + " on " + entries.size() + " operations"
          + (partitionKey == null ? "" : " of key " + partitionKey);
      outcome.originNanos = origin();
      return outcome;
    }

    private long origin() {
      return entries.stream().mapToLong(History.Entry::invokeNanos).min().orElse(0);
    }

    private void lift(Node call) {
      unlink(call);
      unlink(call.match);
    }

    private void unlift(Node call) {
      relink(call.match);
      relink(call);
    }

    private void unlink(Node node) {
      node.prev.next = node.next;
      if (node.next != null) {
        node.next.prev = node.prev;
      }
    }

    private void relink(Node node) {
      node.prev.next = node;
      if (node.next != null) {
        node.next.prev = node;
      }
    }
  }
}
