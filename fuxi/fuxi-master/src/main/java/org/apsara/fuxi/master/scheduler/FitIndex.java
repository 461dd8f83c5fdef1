package org.apsara.fuxi.master.scheduler;

import java.util.Arrays;
import java.util.BitSet;
import java.util.function.Predicate;

/**
 * A segment tree over machine slots that answers "a machine with at least this much cpu and memory"
 * without walking the machines: each inner node keeps the maximum cpu and the maximum memory of its
 * subtree, and a search descends only into subtrees whose maxima both suffice. Updates are O(log
 * n); a search is O(log n) unless free capacity is fragmented across dimensions, and is cut at
 * {@link SchedulerLimits#MAX_FIT_NODE_VISITS}. Slots are reused (lowest first), the array doubles
 * when full (amortized O(1)). Searches go left first, so placement is first-fit by slot: it packs
 * machines and keeps whole machines free for large shapes. Not thread-safe.
 */
final class FitIndex<T> {
  private static final int INITIAL_LEAVES = 16;

  private int leafCount = INITIAL_LEAVES;
  private long[] maxCpu = new long[2 * INITIAL_LEAVES];
  private long[] maxMem = new long[2 * INITIAL_LEAVES];
  private Object[] items = new Object[INITIAL_LEAVES];
  private final BitSet freeSlots = new BitSet();
  private int highWater;
  private int size;
  /** Nodes the last {@link #find} visited; lets tests check that a search does not scan. */
  int lastFindVisits;

  FitIndex() {
    Arrays.fill(maxCpu, -1);
    Arrays.fill(maxMem, -1);
  }

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
    int node = leafCount + slot;
    maxCpu[node] = cpu;
    maxMem[node] = mem;
    for (node >>= 1; node >= 1; node >>= 1) {
      maxCpu[node] = Math.max(maxCpu[2 * node], maxCpu[2 * node + 1]);
      maxMem[node] = Math.max(maxMem[2 * node], maxMem[2 * node + 1]);
    }
  }

  /**
   * The first item (by slot) with at least {@code cpu} and {@code mem} that {@code acceptable}
   * admits, or null when there is none or the search hit its visit limit.
   */
  @SuppressWarnings("unchecked")
  T find(long cpu, long mem, Predicate<T> acceptable) {
    int[] stack = new int[64];
    int top = 0;
    stack[top++] = 1;
    int visits = 0;
    while (top > 0 && visits < SchedulerLimits.MAX_FIT_NODE_VISITS) {
      int node = stack[--top];
      visits++;
      lastFindVisits = visits;
      if (maxCpu[node] < cpu || maxMem[node] < mem) {
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
    long[] newCpu = new long[2 * newLeaves];
    long[] newMem = new long[2 * newLeaves];
    Arrays.fill(newCpu, -1);
    Arrays.fill(newMem, -1);
    System.arraycopy(maxCpu, leafCount, newCpu, newLeaves, leafCount);
    System.arraycopy(maxMem, leafCount, newMem, newLeaves, leafCount);
    for (int node = newLeaves - 1; node >= 1; node--) {
      newCpu[node] = Math.max(newCpu[2 * node], newCpu[2 * node + 1]);
      newMem[node] = Math.max(newMem[2 * node], newMem[2 * node + 1]);
    }
    items = Arrays.copyOf(items, newLeaves);
    maxCpu = newCpu;
    maxMem = newMem;
    leafCount = newLeaves;
  }
}
