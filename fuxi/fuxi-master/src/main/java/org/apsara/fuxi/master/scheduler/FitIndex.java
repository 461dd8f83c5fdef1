package org.apsara.fuxi.master.scheduler;

import java.util.Arrays;
import java.util.BitSet;
import java.util.function.Predicate;

/**
 * A segment tree over machine slots that answers "a machine with at least this much cpu and memory"
 * without walking the machines: each inner node keeps the maximum cpu and the maximum memory of its
 * subtree, and a search descends only into subtrees whose maxima both suffice. Updates are O(log
 * n), and stop at the first ancestor whose maxima do not change; a search is O(log n) unless free
 * capacity is fragmented across dimensions, and is cut at {@link
 * SchedulerLimits#MAX_FIT_NODE_VISITS}. A node's two maxima sit side by side in one array, so that
 * testing a node touches one cache line. Slots are reused (lowest first), the array doubles when
 * full (amortized O(1)). Searches go left first, so placement is first-fit by slot: it packs
 * machines and keeps whole machines free for large shapes. Not thread-safe.
 */
final class FitIndex<T> {
  private static final int INITIAL_LEAVES = 16;

  private int leafCount = INITIAL_LEAVES;
  /** Node i's maximum free cpu at {@code 2 * i}, its maximum free memory at {@code 2 * i + 1}. */
  private long[] maxima = newMaxima(INITIAL_LEAVES);

  private Object[] items = new Object[INITIAL_LEAVES];

  /** The search's stack, kept between searches: one entry per level and one more suffice. */
  private final int[] stack = new int[64];

  private final BitSet freeSlots = new BitSet();
  private int highWater;
  private int size;
  /** Nodes the last {@link #find} visited; lets tests check that a search does not scan. */
  int lastFindVisits;

  int size() {
    return size;
  }

  /** Adds an item with the given free amounts; returns its slot. */
  int add(T item, long cpu, long mem) {
    int slot = freeSlots.nextSetBit(0);
    if (slot >= 0) {
      freeSlots.clear(slot);
    } else {
      if (highWater == leafCount) {
        grow();
      }
      slot = highWater++;
    }
    items[slot] = item;
    size++;
    update(slot, cpu, mem);
    return slot;
  }

  void remove(int slot) {
    items[slot] = null;
    freeSlots.set(slot);
    size--;
    update(slot, -1, -1);
  }

  void update(int slot, long cpu, long mem) {
    long[] t = maxima;
    int node = leafCount + slot;
    t[2 * node] = cpu;
    t[2 * node + 1] = mem;
    for (node >>= 1; node >= 1; node >>= 1) {
      long c = Math.max(t[4 * node], t[4 * node + 2]);
      long m = Math.max(t[4 * node + 1], t[4 * node + 3]);
      if (t[2 * node] == c && t[2 * node + 1] == m) {
        // This ancestor did not change, so none above it does.
        break;
      }
      t[2 * node] = c;
      t[2 * node + 1] = m;
    }
  }

  /**
   * The first item (by slot) with at least {@code cpu} and {@code mem} that {@code acceptable}
   * admits, or null when there is none or the search hit its visit limit.
   */
  @SuppressWarnings("unchecked")
  T find(long cpu, long mem, Predicate<T> acceptable) {
    long[] t = maxima;
    int[] stack = this.stack;
    int top = 0;
    stack[top++] = 1;
    int visits = 0;
    while (top > 0 && visits < SchedulerLimits.MAX_FIT_NODE_VISITS) {
      int node = stack[--top];
      visits++;
      lastFindVisits = visits;
      if (t[2 * node] < cpu || t[2 * node + 1] < mem) {
        continue;
      }
      if (node >= leafCount) {
        T item = (T) items[node - leafCount];
        if (item != null && acceptable.test(item)) {
          return item;
        }
        continue;
      }
      // Right first onto the stack so that the left subtree is searched first.
      stack[top++] = 2 * node + 1;
      stack[top++] = 2 * node;
    }
    return null;
  }

  private void grow() {
    int newLeaves = leafCount * 2;
    long[] t = newMaxima(newLeaves);
    System.arraycopy(maxima, 2 * leafCount, t, 2 * newLeaves, 2 * leafCount);
    for (int node = newLeaves - 1; node >= 1; node--) {
      t[2 * node] = Math.max(t[4 * node], t[4 * node + 2]);
      t[2 * node + 1] = Math.max(t[4 * node + 1], t[4 * node + 3]);
    }
    items = Arrays.copyOf(items, newLeaves);
    maxima = t;
    leafCount = newLeaves;
  }

  /** Maxima of an empty tree: -1 everywhere, below any amount a search asks for. */
  private static long[] newMaxima(int leaves) {
    long[] t = new long[2 * 2 * leaves];
    Arrays.fill(t, -1);
    return t;
  }
}
