package org.apsara.fuxi.master.scheduler;

import java.util.Arrays;

/**
 * A map from non-negative int keys (machine slots) to values, by open addressing with linear
 * probing: no boxing, no entry objects, O(1) expected per operation. It offers no iteration on
 * purpose, so that no decision can depend on its layout; callers that need an order keep their own
 * list. Not thread-safe.
 */
final class SlotMap<V> {
  private static final int INITIAL_CAPACITY = 4;
  private static final int EMPTY = -1;

  private int[] keys = newKeys(INITIAL_CAPACITY);
  private Object[] values = new Object[INITIAL_CAPACITY];
  private int size;

  int size() {
    return size;
  }

  @SuppressWarnings("unchecked")
  V get(int key) {
    int mask = keys.length - 1;
    for (int i = index(key, mask); ; i = (i + 1) & mask) {
      int k = keys[i];
      if (k == key) {
        return (V) values[i];
      }
      if (k == EMPTY) {
        return null;
      }
    }
  }

  /** Maps {@code key} to a non-null {@code value}, replacing any previous value. */
  void put(int key, V value) {
    if (key < 0 || value == null) {
      throw new IllegalArgumentException("slot " + key + " value " + value);
    }
    // Grow at a load of one half: probe sequences stay short and an empty cell always exists.
    if (2 * (size + 1) > keys.length) {
      resize(2 * keys.length);
    }
    int mask = keys.length - 1;
    int i = index(key, mask);
    while (keys[i] != EMPTY && keys[i] != key) {
      i = (i + 1) & mask;
    }
    if (keys[i] == EMPTY) {
      size++;
    }
    keys[i] = key;
    values[i] = value;
  }

  /** Removes {@code key}'s mapping, if any. */
  void remove(int key) {
    int mask = keys.length - 1;
    int i = index(key, mask);
    while (keys[i] != key) {
      if (keys[i] == EMPTY) {
        return;
      }
      i = (i + 1) & mask;
    }
    // Backward-shift deletion: move later entries of the probe run into the hole, so that no
    // tombstones accumulate and lookups stop at the first empty cell.
    int hole = i;
    for (int j = (i + 1) & mask; keys[j] != EMPTY; j = (j + 1) & mask) {
      int home = index(keys[j], mask);
      // The entry at j may move into the hole when its home is not cyclically in (hole, j].
      boolean homeInRange = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
      if (!homeInRange) {
        keys[hole] = keys[j];
        values[hole] = values[j];
        hole = j;
      }
    }
    keys[hole] = EMPTY;
    values[hole] = null;
    size--;
  }

  private void resize(int capacity) {
    int[] oldKeys = keys;
    Object[] oldValues = values;
    keys = newKeys(capacity);
    values = new Object[capacity];
    int mask = capacity - 1;
    for (int j = 0; j < oldKeys.length; j++) {
      if (oldKeys[j] != EMPTY) {
        int i = index(oldKeys[j], mask);
        while (keys[i] != EMPTY) {
          i = (i + 1) & mask;
        }
        keys[i] = oldKeys[j];
        values[i] = oldValues[j];
      }
    }
  }

  private static int index(int key, int mask) {
    // Fibonacci hashing spreads consecutive slots over the table; folding in the high half lets
    // small tables use the well-mixed high bits.
    int h = key * 0x9E3779B9;
    return (h ^ (h >>> 16)) & mask;
  }

  private static int[] newKeys(int capacity) {
    int[] k = new int[capacity];
    Arrays.fill(k, EMPTY);
    return k;
  }
}
