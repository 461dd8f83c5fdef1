package org.apsara.bench.fuxi;

import java.util.Arrays;

/**
 * When each waiting unit was requested, per role, so that a grant can be timed per unit. The
 * scheduler's grants name a count of units of a role, not the request they serve, and the units
 * of one role are interchangeable; the ledger therefore hands a grant the role's oldest waiting
 * units first (first in, first out). Each role keeps a ring of (request time, units) runs: the
 * runs are merged only when equal, so the memory is one entry per request call. Not thread-safe.
 */
final class RequestLedger {
  /** Runs each role's ring can hold before it first grows. */
  private static final int INITIAL_RUNS = 8;

  /** Receives the waiting time of {@code units} units of {@code role} granted together. */
  @FunctionalInterface
  interface WaitRecorder {
    void record(int role, long waitNanos, int units);
  }

  private final long[][] requestNanos;
  private final int[][] units;
  private final int[] head;
  private final int[] count;
  private final long[] waitingUnits;

  RequestLedger(int roles) {
    requestNanos = new long[roles][INITIAL_RUNS];
    units = new int[roles][INITIAL_RUNS];
    head = new int[roles];
    count = new int[roles];
    waitingUnits = new long[roles];
  }

  /** Notes that {@code n} units of {@code role} were requested at {@code atNanos}. */
  void requested(int role, int n, long atNanos) {
    int size = count[role];
    long[] times = requestNanos[role];
    if (size > 0) {
      int last = (head[role] + size - 1) % times.length;
      if (times[last] == atNanos) {
        units[role][last] += n;
        waitingUnits[role] += n;
        return;
      }
    }
    if (size == times.length) {
      grow(role);
      times = requestNanos[role];
    }
    int tail = (head[role] + size) % times.length;
    times[tail] = atNanos;
    units[role][tail] = n;
    count[role] = size + 1;
    waitingUnits[role] += n;
  }

  /**
   * Takes the {@code n} oldest waiting units of {@code role}, granted at {@code atNanos}, and
   * reports their waits; throws if the role has fewer waiting (a grant nobody asked for).
   */
  void granted(int role, int n, long atNanos, WaitRecorder recorder) {
    if (n > waitingUnits[role]) {
      throw new IllegalStateException(
          "role " + role + " was granted " + n + " units but waits for " + waitingUnits[role]);
    }
    waitingUnits[role] -= n;
    long[] times = requestNanos[role];
    int[] runs = units[role];
    int left = n;
    while (left > 0) {
      int h = head[role];
      int take = Math.min(left, runs[h]);
      recorder.record(role, atNanos - times[h], take);
      runs[h] -= take;
      left -= take;
      if (runs[h] == 0) {
        head[role] = (h + 1) % times.length;
        count[role]--;
      }
    }
  }

  long waitingUnits(int role) {
    return waitingUnits[role];
  }

  /** Reports, for every unit still waiting, how long it has waited so far at {@code nowNanos}. */
  void forEachWaiting(long nowNanos, WaitRecorder recorder) {
    for (int role = 0; role < head.length; role++) {
      long[] times = requestNanos[role];
      for (int i = 0; i < count[role]; i++) {
        int at = (head[role] + i) % times.length;
        recorder.record(role, nowNanos - times[at], units[role][at]);
      }
    }
  }

  private void grow(int role) {
    long[] times = requestNanos[role];
    int[] runs = units[role];
    int size = count[role];
    long[] newTimes = new long[2 * times.length];
    int[] newRuns = new int[2 * times.length];
    for (int i = 0; i < size; i++) {
      int at = (head[role] + i) % times.length;
      newTimes[i] = times[at];
      newRuns[i] = runs[at];
    }
    requestNanos[role] = newTimes;
    units[role] = newRuns;
    head[role] = 0;
    Arrays.fill(newRuns, size, newRuns.length, 0);
  }
}
