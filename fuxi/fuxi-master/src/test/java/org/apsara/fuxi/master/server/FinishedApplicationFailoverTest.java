package org.apsara.fuxi.master.server;

import static org.apsara.fuxi.master.server.FuxiMasterServerTest.assertRefused;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.ArrayList;
import java.util.List;
import org.apsara.fuxi.api.v1.ApplicationStatus;
import org.apsara.fuxi.api.v1.FuxiMasterGrpc;
import org.apsara.fuxi.api.v1.GetApplicationRequest;
import org.apsara.fuxi.api.v1.KillApplicationRequest;
import org.apsara.fuxi.api.v1.ListApplicationsRequest;
import org.junit.jupiter.api.Test;

/** Finished applications purged by a real primary's timer, and a successor that loads the rest. */
class FinishedApplicationFailoverTest extends MasterTestBase {

  private FuxiMasterServer member(String id) throws Exception {
    FuxiMasterServer m = FuxiMasterServer.start(config(id).finishedApplicationsMax(2).build());
    masters.add(m);
    return m;
  }

  private static GetApplicationRequest get(String id) {
    return GetApplicationRequest.newBuilder().setApplicationId(id).build();
  }

  private static boolean purged(FuxiMasterGrpc.FuxiMasterBlockingStub c, String id) {
    try {
      c.getApplication(get(id));
      return false;
    } catch (StatusRuntimeException e) {
      return e.getStatus().getCode() == Status.Code.NOT_FOUND
          && e.getStatus().getDescription().contains("finished and was purged");
    }
  }

  @Test
  void thePrimaryPurgesBeyondTheLimitAndItsSuccessorDoesNotBringThemBack() throws Exception {
    FuxiMasterServer first = member("master-a");
    await().atMost(WAIT).until(first::isServing);
    FuxiMasterServer second = member("master-b");
    FakeTubo tubo = tubo("host-1", 4000, 4096, first, second);
    await().atMost(WAIT).until(() -> tubo.last() != null);
    FuxiMasterGrpc.FuxiMasterBlockingStub toFirst = client(first);
    String running = toFirst.submitApplication(submit("running").build()).getApplicationId();
    List<String> finished = new ArrayList<>();
    for (int i = 1; i <= 3; i++) {
      String id = toFirst.submitApplication(submit("r" + i).build()).getApplicationId();
      toFirst.killApplication(KillApplicationRequest.newBuilder().setApplicationId(id).build());
      finished.add(id);
    }
    await().atMost(WAIT).until(() -> purged(toFirst, finished.get(0)));

    first.close();
    await().atMost(WAIT).until(second::isServing);
    FuxiMasterGrpc.FuxiMasterBlockingStub toSecond = client(second);
    assertThat(purged(toSecond, finished.get(0))).isTrue();
    assertThat(toSecond.listApplications(ListApplicationsRequest.getDefaultInstance())
        .getApplicationsList()).extracting(ApplicationStatus::getApplicationId)
        .containsExactly(running, finished.get(1), finished.get(2));
    assertThat(toSecond.getApplication(get(finished.get(2))).getState())
        .isEqualTo(ApplicationStatus.State.KILLED);
    assertThat(toSecond.getApplication(get(running)).getState())
        .isNotIn(ApplicationStatus.State.KILLED, ApplicationStatus.State.FAILED,
            ApplicationStatus.State.SUCCEEDED);
    assertRefused(() -> toSecond.killApplication(KillApplicationRequest.newBuilder()
        .setApplicationId(finished.get(0)).build()), Status.Code.NOT_FOUND,
        "UNKNOWN_APPLICATION");
  }
}
