package org.apsara.fuxi.tubo;

import static org.assertj.core.api.Assertions.assertThat;

import org.apsara.fuxi.tubo.cgroup.CgroupMode;
import org.apsara.fuxi.tubo.cgroup.Enforcement;
import org.junit.jupiter.api.Test;

/** The supervisor without cgroups, as on a laptop: runs everywhere, as any user. */
class UnenforcedSupervisorTest extends SupervisorContract {
  @Override
  CgroupMode mode() {
    return CgroupMode.NONE;
  }

  @Test
  void saysItDoesNotEnforce() {
    assertThat(supervisor.enforcement()).isEqualTo(Enforcement.UNENFORCED);
    assertThat(supervisor.describeEnforcement()).contains("UNENFORCED");
  }
}
