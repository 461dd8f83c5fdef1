package org.apsara.fuxi.master.scheduler;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

/**
 * Updates stop climbing at the first unchanged ancestor: the tree must still answer exactly like a
 * linear scan after any sequence of adds, updates and removals.
 */
class FitIndexUpdateTest {
  /** One step: {@code op} picks add, update or remove; the amounts are in millicores and MiB. */
  record Step(int op, int target, int cores, int gib) {}

  @Property(tries = 300)
  void agreesWithALinearScanAfterAnyUpdates(
      @ForAll @Size(max = 300) List<@IntRange(min = 0, max = 99) Integer> ops,
      @ForAll @Size(max = 300) List<@IntRange(min = 0, max = 32) Integer> cores,
      @ForAll @Size(max = 300) List<@IntRange(min = 0, max = 128) Integer> gib,
      @ForAll @IntRange(min = 0, max = 16_000) int wantCpu,
      @ForAll @IntRange(min = 0, max = 65_536) int wantMem) {
    FitIndex<Integer> index = new FitIndex<>();
    // By slot: the free amounts, or null for a free slot. At most 100 live slots (128 leaves, 255
    // nodes): the search can never reach its visit limit, so it must be exact.
    List<long[]> bySlot = new ArrayList<>();
    int steps = Math.min(ops.size(), Math.min(cores.size(), gib.size()));
    int itemSeq = 0;
    List<Integer> itemBySlot = new ArrayList<>();
    for (int i = 0; i < steps; i++) {
      long cpu = cores.get(i) * 500L;
      long mem = gib.get(i) * 512L;
      int op = ops.get(i);
      int live = (int) bySlot.stream().filter(x -> x != null).count();
      if (op < 40 && live < 100) {
        int slot = index.add(itemSeq, cpu, mem);
        while (bySlot.size() <= slot) {
          bySlot.add(null);
          itemBySlot.add(null);
        }
        assertThat(bySlot.get(slot)).isNull();
        bySlot.set(slot, new long[] {cpu, mem});
        itemBySlot.set(slot, itemSeq++);
      } else if (live > 0) {
        int slot = liveSlot(bySlot, op);
        if (op < 80) {
          index.update(slot, cpu, mem);
          bySlot.set(slot, new long[] {cpu, mem});
        } else {
          index.remove(slot);
          bySlot.set(slot, null);
          itemBySlot.set(slot, null);
        }
      }
      Integer expected = null;
      for (int slot = 0; slot < bySlot.size(); slot++) {
        long[] free = bySlot.get(slot);
        if (free != null && free[0] >= wantCpu && free[1] >= wantMem) {
          expected = itemBySlot.get(slot);
          break;
        }
      }
      assertThat(index.find(wantCpu, wantMem, x -> true)).isEqualTo(expected);
    }
  }

  private static int liveSlot(List<long[]> bySlot, int pick) {
    List<Integer> live = new ArrayList<>();
    for (int slot = 0; slot < bySlot.size(); slot++) {
      if (bySlot.get(slot) != null) {
        live.add(slot);
      }
    }
    return live.get(pick % live.size());
  }

  @Test
  void shrinkingTheLargestMachineLowersTheMaximaAboveIt() {
    FitIndex<String> index = new FitIndex<>();
    int big = index.add("big", 8_000, 32_768);
    index.add("small", 1_000, 4_096);
    assertThat(index.find(4_000, 16_384, x -> true)).isEqualTo("big");
    index.update(big, 500, 1_024);
    assertThat(index.find(4_000, 16_384, x -> true)).isNull();
    assertThat(index.find(1_000, 4_096, x -> true)).isEqualTo("small");
    // An update that changes nothing above the leaf leaves the answers as they were.
    index.update(big, 500, 1_024);
    assertThat(index.find(500, 1_024, x -> true)).isEqualTo("big");
  }
}
