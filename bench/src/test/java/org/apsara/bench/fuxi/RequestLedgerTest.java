package org.apsara.bench.fuxi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class RequestLedgerTest {
  private record Wait(long nanos, int units) {}

  @Test
  void grantsTakeTheOldestUnitsFirstAcrossRuns() {
    RequestLedger ledger = new RequestLedger(2);
    for (int i = 0; i < 20; i++) {
      ledger.requested(1, 2, 100 + i); // 20 runs: the ring grows past its initial size
    }
    List<Wait> waits = new ArrayList<>();
    ledger.granted(1, 5, 1_000, (role, nanos, units) -> waits.add(new Wait(nanos, units)));

    assertThat(waits).containsExactly(new Wait(900, 2), new Wait(899, 2), new Wait(898, 1));
    assertThat(ledger.waitingUnits(1)).isEqualTo(35);
    assertThat(ledger.waitingUnits(0)).isZero();
    assertThatThrownBy(() -> ledger.granted(0, 1, 1_000, (role, nanos, units) -> {}))
        .isInstanceOf(IllegalStateException.class);
  }
}
