package org.apsara.bench.fuxi;

import java.util.Arrays;

/**
 * When each simulated task finishes: a hashed timing wheel of one-millisecond slots holding one
 * {@code long} per running unit (the caller's packed role and machine). Scheduling and expiry are
 * O(1) per unit, so the driver's own bookkeeping stays small next to the scheduler it measures (a
 * heap of 300,000 entries would cost a few cache misses per unit). An entry due more than one turn
 * of the wheel ahead stays in its slot and is skipped until its turn comes. Not thread-safe.
 */
final class CompletionWheel {
  /** Entries each slot can hold before it first grows. */
  private static final int INITIAL_SLOT_CAPACITY = 16;

  /** Longest task duration the wheel is sized for: one minute ("short tasks"). */
  static final long MAX_HORIZON_MILLIS = 60_000L;

  /** Callback for each entry that is due. */
  @FunctionalInterface
  interface DueHandler {
    void due(long entry, long dueMillis);
  }

  private final int mask;
  private final long[][] entries;
  private final long[][] dueMillis;
  private final int[] sizes;
  private long[] spareEntries = new long[INITIAL_SLOT_CAPACITY];
  private long[] spareDue = new long[INITIAL_SLOT_CAPACITY];
  /** The first millisecond not yet drained. */
  private long cursorMillis;
  private long size;

  /** A wheel whose turn covers at least {@code horizonMillis}, starting at {@code startMillis}. */
  CompletionWheel(long horizonMillis, long startMillis) {
    if (horizonMillis < 1 || horizonMillis > MAX_HORIZON_MILLIS) {
      throw new IllegalArgumentException(
          "horizon " + horizonMillis + " ms is outside [1, " + MAX_HORIZON_MILLIS + "]");
    }
    // The smallest power of two covering twice the horizon: a loop that lags by up to one
    // horizon still finds every entry in its own turn.
    int slots = Integer.highestOneBit((int) (2 * horizonMillis - 1)) << 1;
    this.mask = slots - 1;
    this.entries = new long[slots][];
    this.dueMillis = new long[slots][];
    this.sizes = new int[slots];
    this.cursorMillis = startMillis;
  }

  long size() {
    return size;
  }

  /** Adds an entry due at {@code atMillis}; one in the past is due at the next drain. */
  void schedule(long entry, long atMillis) {
    long at = Math.max(atMillis, cursorMillis);
    int slot = (int) (at & mask);
    int n = sizes[slot];
    if (entries[slot] == null) {
      entries[slot] = new long[INITIAL_SLOT_CAPACITY];
      dueMillis[slot] = new long[INITIAL_SLOT_CAPACITY];
    } else if (n == entries[slot].length) {
      entries[slot] = Arrays.copyOf(entries[slot], 2 * n);
      dueMillis[slot] = Arrays.copyOf(dueMillis[slot], 2 * n);
    }
    entries[slot][n] = entry;
    dueMillis[slot][n] = at;
    sizes[slot] = n + 1;
    size++;
  }

  /**
   * Hands every entry due at or before {@code nowMillis} to {@code handler}, whole slots at a time,
   * stopping after the slot in which {@code budget} entries were reached; returns how many were
   * handed out. The handler may schedule new entries, even into the slot being drained.
   */
  int drainDue(long nowMillis, int budget, DueHandler handler) {
    int handled = 0;
    while (cursorMillis <= nowMillis && handled < budget) {
      int slot = (int) (cursorMillis & mask);
      int n = sizes[slot];
      if (n > 0) {
        // Swap the slot's arrays out first, so that entries scheduled by the handler into this
        // very slot (possible when the loop lags by a whole turn) land in fresh arrays.
        long[] taken = entries[slot];
        long[] takenDue = dueMillis[slot];
        entries[slot] = spareEntries;
        dueMillis[slot] = spareDue;
        sizes[slot] = 0;
        size -= n;
        for (int i = 0; i < n; i++) {
          if (takenDue[i] <= cursorMillis) {
            handled++;
            handler.due(taken[i], takenDue[i]);
          } else {
            schedule(taken[i], takenDue[i]);
          }
        }
        spareEntries = taken;
        spareDue = takenDue;
      }
      cursorMillis++;
    }
    return handled;
  }
}
