package org.apsara.fuxi.master.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.apsara.fuxi.api.v1.ApplicationStatus;
import org.apsara.fuxi.api.v1.SubmitApplicationRequest;
import org.apsara.nuwa.client.KeyValue;
import org.apsara.nuwa.client.NuwaClient;
import org.apsara.nuwa.client.recipes.LeaderElection;
import org.apsara.nuwa.client.recipes.Session;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class HardStateStoreTest {
  private final NuwaClient nuwa;

  HardStateStoreTest() throws Exception {
    nuwa = NuwaFixture.shared().newClient();
    nuwa.kv().deletePrefix(HardStateStore.ROOT);
  }

  @AfterEach
  void tearDown() {
    nuwa.kv().deletePrefix(HardStateStore.ROOT);
    nuwa.close();
  }

  @Test
  void aDeposedPrimaryCannotWriteAndTheElectedOneCan() throws Exception {
    SubmitApplicationRequest request = SubmitApplicationRequest.newBuilder().setRequestId("r1")
        .addAmCommand("/bin/am").build();
    ApplicationStatus status = ApplicationStatus.newBuilder().setApplicationId("app-1")
        .setState(ApplicationStatus.State.SUBMITTED).setAmAttempt(1).build();
    try (Session session = Session.open(nuwa)) {
      LeaderElection election = new LeaderElection(session, HardStateStore.ELECTION);
      election.campaign("me:1");
      KeyValue key = nuwa.kv().getPrefix(HardStateStore.ELECTION).kvs().get(0);

      HardStateStore stale = new HardStateStore(nuwa);
      stale.guard(key.key(), key.createRevision() - 1);
      assertThatThrownBy(() -> stale.createApplication(request, status, 2))
          .isInstanceOf(HardStateStore.DeposedException.class);
      assertThat(stale.load().applications()).isEmpty();

      HardStateStore elected = new HardStateStore(nuwa);
      elected.guard(key.key(), key.createRevision());
      elected.createApplication(request, status, 2);
      HardStateStore.Loaded loaded = elected.load();
      assertThat(loaded.applications()).containsOnlyKeys("app-1");
      assertThat(loaded.requestIds()).containsEntry("r1", "app-1");
      assertThat(loaded.nextApplicationNumber()).isEqualTo(2);

      election.resign();
      assertThatThrownBy(() -> elected.updateStatus(status))
          .isInstanceOf(HardStateStore.DeposedException.class);
    }
  }
}
