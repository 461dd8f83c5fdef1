package org.apsara.fuxi.master.scheduler;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

class FitIndexTest {
  @Test
  void findsTheFirstSlotWithRoomInBothDimensions() {
    FitIndex<String> index = new FitIndex<>();
    index.add("cpuOnly", 8000, 100);
    index.add("memOnly", 100, 8000);
    index.add("both", 4000, 4000);
    assertThat(index.find(1000, 1000, x -> true)).isEqualTo("both");
    assertThat(index.find(1000, 1000, x -> !x.equals("both"))).isNull();
    assertThat(index.find(50, 50, x -> true)).isEqualTo("cpuOnly");
  }

  @Test
  void growsAndReusesFreedSlots() {
    FitIndex<String> index = new FitIndex<>();
    List<Integer> slots = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      slots.add(index.add("m" + i, 1, 1));
    }
    assertThat(index.size()).isEqualTo(100);
    index.update(slots.get(77), 50, 50);
    assertThat(index.find(50, 50, x -> true)).isEqualTo("m77");
    index.remove(slots.get(77));
    assertThat(index.find(50, 50, x -> true)).isNull();
    assertThat(index.add("again", 60, 60)).isEqualTo(slots.get(77));
    assertThat(index.find(50, 50, x -> true)).isEqualTo("again");
  }

  @Test
  void searchingTenThousandMachinesVisitsALogarithmicNumberOfNodes() {
    FitIndex<Integer> index = new FitIndex<>();
    for (int i = 0; i < 10_000; i++) {
      index.add(i, 100, 100);
    }
    index.update(9_999, 4000, 8192);
    assertThat(index.find(1000, 2048, x -> true)).isEqualTo(9_999);
    // 2^14 leaves: the descent looks at both children per level, never at the full machines.
    assertThat(index.lastFindVisits).isLessThanOrEqualTo(2 * 15);
    assertThat(index.find(5000, 1, x -> true)).isNull();
    assertThat(index.lastFindVisits).isEqualTo(1);
  }

  /** Agrees with a linear scan whenever the search stays within its visit limit. */
  @Property(tries = 200)
  void agreesWithALinearScan(
      @ForAll @Size(min = 1, max = 40) List<@IntRange(min = 0, max = 16) Integer> cpus,
      @ForAll @IntRange(min = 0, max = 16) int wantCpu,
      @ForAll @IntRange(min = 0, max = 16) int wantMem) {
    FitIndex<Integer> index = new FitIndex<>();
    for (int i = 0; i < cpus.size(); i++) {
      // Memory runs against cpu, so that the two maxima often come from different machines.
      index.add(i, cpus.get(i), 16 - cpus.get(i) + (i % 3));
    }
    Integer expected = null;
    for (int i = 0; i < cpus.size(); i++) {
      if (cpus.get(i) >= wantCpu && 16 - cpus.get(i) + (i % 3) >= wantMem) {
        expected = i;
        break;
      }
    }
    assertThat(index.find(wantCpu, wantMem, x -> true)).isEqualTo(expected);
  }
}
