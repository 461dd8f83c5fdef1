package org.apsara.fuxi.master.scheduler;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

class SlotMapTest {
  @Test
  void putGetReplaceAndRemove() {
    SlotMap<String> map = new SlotMap<>();
    assertThat(map.get(7)).isNull();
    map.put(7, "a");
    map.put(0, "b");
    map.put(7, "c");
    assertThat(map.size()).isEqualTo(2);
    assertThat(map.get(7)).isEqualTo("c");
    assertThat(map.get(0)).isEqualTo("b");
    map.remove(7);
    map.remove(12345);
    assertThat(map.get(7)).isNull();
    assertThat(map.get(0)).isEqualTo("b");
    assertThat(map.size()).isEqualTo(1);
  }

  @Test
  void holdsAHundredThousandSlotsAndForgetsThemAgain() {
    SlotMap<Integer> map = new SlotMap<>();
    for (int slot = 0; slot < SchedulerLimits.MAX_MACHINES; slot++) {
      map.put(slot, slot);
    }
    assertThat(map.size()).isEqualTo(SchedulerLimits.MAX_MACHINES);
    for (int slot = 0; slot < SchedulerLimits.MAX_MACHINES; slot += 2) {
      map.remove(slot);
    }
    for (int slot = 0; slot < SchedulerLimits.MAX_MACHINES; slot++) {
      assertThat(map.get(slot)).isEqualTo(slot % 2 == 0 ? null : slot);
    }
  }

  /**
   * Any sequence of puts and removes (keys drawn from a small range, so that probe runs collide
   * and removals shift entries back) leaves the same mappings as a HashMap.
   */
  @Property(tries = 300)
  void agreesWithAHashMap(
      @ForAll @Size(max = 400) List<@IntRange(min = 0, max = 63) Integer> keys,
      @ForAll @Size(max = 400) List<Boolean> removes) {
    SlotMap<Integer> map = new SlotMap<>();
    Map<Integer, Integer> expected = new HashMap<>();
    for (int i = 0; i < keys.size(); i++) {
      int key = keys.get(i);
      if (i < removes.size() && removes.get(i)) {
        map.remove(key);
        expected.remove(key);
      } else {
        map.put(key, i);
        expected.put(key, i);
      }
      assertThat(map.size()).isEqualTo(expected.size());
    }
    for (int key = 0; key < 64; key++) {
      assertThat(map.get(key)).isEqualTo(expected.get(key));
    }
  }
}
