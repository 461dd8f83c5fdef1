package org.apsara.fuxi.client;

import static org.apsara.fuxi.client.testing.GrpcTestServer.fuxiError;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Status;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.apsara.common.net.HostPort;
import org.apsara.fuxi.api.v1.ApplicationStatus;
import org.apsara.fuxi.api.v1.DeleteQuotaGroupRequest;
import org.apsara.fuxi.api.v1.DeleteQuotaGroupResponse;
import org.apsara.fuxi.api.v1.ListApplicationsRequest;
import org.apsara.fuxi.api.v1.ListApplicationsResponse;
import org.apsara.fuxi.api.v1.ListNodesResponse;
import org.apsara.fuxi.api.v1.ListQuotaGroupsResponse;
import org.apsara.fuxi.api.v1.NodeStatus;
import org.apsara.fuxi.api.v1.QuotaGroupStatus;
import org.apsara.fuxi.api.v1.Resources;
import org.apsara.fuxi.api.v1.SetQuotaGroupRequest;
import org.apsara.fuxi.api.v1.SubmitApplicationRequest;
import org.apsara.fuxi.api.v1.SubmitApplicationResponse;
import org.apsara.fuxi.api.v1.WorkerClass;
import org.apsara.fuxi.client.testing.FakeFuxiMaster;
import org.apsara.fuxi.client.testing.GrpcTestServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** FuxiClient against fake masters: error mapping, primary following, retries, deadlines. */
class FuxiClientTest {
  private final List<AutoCloseable> open = new ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    for (int i = open.size() - 1; i >= 0; i--) {
      open.get(i).close();
    }
  }

  private HostPort serve(FakeFuxiMaster master) throws Exception {
    GrpcTestServer server = new GrpcTestServer(master);
    open.add(server);
    return server.address();
  }

  private FuxiClient client(Duration operationTimeout, HostPort... masters) {
    FuxiClient client = FuxiClient.connect(FuxiClientConfig.builder(List.of(masters))
        .operationTimeout(operationTimeout)
        .callTimeout(Duration.ofSeconds(5))
        .backoff(Duration.ofMillis(5), Duration.ofMillis(50))
        .build());
    open.add(client);
    return client;
  }

  private FuxiClient client(HostPort... masters) {
    return client(Duration.ofSeconds(10), masters);
  }

  private static ApplicationSpec spec() {
    return ApplicationSpec.builder(List.of("java", "-cp", "am.jar", "Main"))
        .name("wordcount").tenant("t1").quotaGroup("batch").environment("K", "V")
        .amResources(500, 256).amClass(WorkerClass.BATCH).maxAmAttempts(2).build();
  }

  private static Object submitted(String id) {
    return SubmitApplicationResponse.newBuilder().setApplicationId(id).build();
  }

  @Test
  void submitSendsTheSpecAndAnswersTheId() throws Exception {
    FakeFuxiMaster master = new FakeFuxiMaster();
    master.onUnary((method, request) -> submitted("app-1"));
    FuxiClient client = client(serve(master));

    assertThat(client.submit(spec())).isEqualTo("app-1");

    SubmitApplicationRequest sent = (SubmitApplicationRequest) master.requests.get(0);
    assertThat(sent.getRequestId()).isNotBlank();
    assertThat(sent.getName()).isEqualTo("wordcount");
    assertThat(sent.getTenant()).isEqualTo("t1");
    assertThat(sent.getQuotaGroup()).isEqualTo("batch");
    assertThat(sent.getAmCommandList()).containsExactly("java", "-cp", "am.jar", "Main");
    assertThat(sent.getAmEnvironmentMap()).containsEntry("K", "V");
    assertThat(sent.getAmResources().getCpuMillis()).isEqualTo(500);
    assertThat(sent.getAmResources().getMemoryMib()).isEqualTo(256);
    assertThat(sent.getAmClass()).isEqualTo(WorkerClass.BATCH);
    assertThat(sent.getMaxAmAttempts()).isEqualTo(2);
  }

  @Test
  void refusalsCarryStatusCodeAndTheServersMessage() throws Exception {
    FakeFuxiMaster master = new FakeFuxiMaster();
    master.onUnary((method, request) -> {
      throw switch (method) {
        case "get" -> Status.NOT_FOUND.withDescription("no application app-9")
            .asRuntimeException(trailer("UNKNOWN_APPLICATION"));
        case "setQuotaGroup" -> fuxiError(Status.Code.FAILED_PRECONDITION,
            "QUOTA_EXCEEDS_CLUSTER", null);
        default -> fuxiError(Status.Code.RESOURCE_EXHAUSTED, "SOMETHING_NEW", null);
      };
    });
    FuxiClient client = client(serve(master));

    assertThatThrownBy(() -> client.get("app-9"))
        .isInstanceOfSatisfying(FuxiException.class, e -> {
          assertThat(e.status()).isEqualTo(Status.Code.NOT_FOUND);
          assertThat(e.code()).isEqualTo(FuxiErrorCode.UNKNOWN_APPLICATION);
          assertThat(e.getMessage()).isEqualTo("no application app-9");
        });
    assertThatThrownBy(() -> client.setQuotaGroup("g", res(1, 1), res(2, 2)))
        .isInstanceOfSatisfying(FuxiException.class, e -> {
          assertThat(e.status()).isEqualTo(Status.Code.FAILED_PRECONDITION);
          assertThat(e.code()).isEqualTo(FuxiErrorCode.QUOTA_EXCEEDS_CLUSTER);
        });
    // A code this client does not know keeps its name and status.
    assertThatThrownBy(() -> client.nodes())
        .isInstanceOfSatisfying(FuxiException.class, e -> {
          assertThat(e.status()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
          assertThat(e.code()).isEqualTo(FuxiErrorCode.UNCLASSIFIED);
          assertThat(e.serverCode()).isEqualTo("SOMETHING_NEW");
        });
    // Refusals are final: each was asked once.
    assertThat(master.count("get")).isEqualTo(1);
    assertThat(master.count("setQuotaGroup")).isEqualTo(1);
    assertThat(master.count("nodes")).isEqualTo(1);
  }

  private static io.grpc.Metadata trailer(String code) {
    io.grpc.Metadata trailers = new io.grpc.Metadata();
    trailers.put(org.apsara.fuxi.api.FuxiTrailers.ERROR_CODE, code);
    return trailers;
  }

  private static Resources res(long cpu, long mem) {
    return Resources.newBuilder().setCpuMillis(cpu).setMemoryMib(mem).build();
  }

  @Test
  void followsThePrimaryAStandbyNamesAndKeepsCallingIt() throws Exception {
    FakeFuxiMaster primary = new FakeFuxiMaster();
    primary.onUnary((method, request) -> ListNodesResponse.newBuilder()
        .addNodes(NodeStatus.newBuilder().setMachineId("m1")).build());
    HostPort primaryAddress = serve(primary);
    FakeFuxiMaster standby = new FakeFuxiMaster();
    standby.onUnary((method, request) -> {
      throw fuxiError(Status.Code.UNAVAILABLE, "NOT_PRIMARY", primaryAddress);
    });
    // Only the standby is configured: the primary is learned from its trailer.
    FuxiClient client = client(serve(standby));

    assertThat(client.nodes()).extracting(NodeStatus::getMachineId).containsExactly("m1");
    client.nodes();

    assertThat(standby.count("nodes")).isEqualTo(1);
    assertThat(primary.count("nodes")).isEqualTo(2);
  }

  @Test
  void retriesARebuildingPrimaryWithTheSameRequestId() throws Exception {
    FakeFuxiMaster master = new FakeFuxiMaster();
    AtomicInteger calls = new AtomicInteger();
    master.onUnary((method, request) -> {
      if (calls.incrementAndGet() <= 2) {
        throw fuxiError(Status.Code.UNAVAILABLE, "REBUILDING", null);
      }
      return submitted("app-7");
    });
    FuxiClient client = client(serve(master));

    assertThat(client.submit(spec())).isEqualTo("app-7");

    assertThat(master.count("submit")).isEqualTo(3);
    assertThat(master.requests).extracting(r -> ((SubmitApplicationRequest) r).getRequestId())
        .containsOnly(((SubmitApplicationRequest) master.requests.get(0)).getRequestId());
  }

  @Test
  void twoSubmitsOfOneSpecAreTwoRequests() throws Exception {
    FakeFuxiMaster master = new FakeFuxiMaster();
    master.onUnary((method, request) -> submitted("app-x"));
    FuxiClient client = client(serve(master));

    client.submit(spec());
    client.submit(spec());
    client.submit(spec(), "mine-1");

    assertThat(master.requests).extracting(r -> ((SubmitApplicationRequest) r).getRequestId())
        .doesNotHaveDuplicates().contains("mine-1");
  }

  @Test
  void triesTheNextMemberWhenOneIsDown() throws Exception {
    HostPort down;
    try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      down = HostPort.of("127.0.0.1", socket.getLocalPort());
    }
    FakeFuxiMaster master = new FakeFuxiMaster();
    master.onUnary((method, request) -> ListQuotaGroupsResponse.newBuilder()
        .addGroups(QuotaGroupStatus.newBuilder().setName("default")).build());
    FuxiClient client = client(down, serve(master));

    assertThat(client.quotaGroups()).extracting(QuotaGroupStatus::getName)
        .containsExactly("default");
  }

  @Test
  void givesUpAtTheDeadlineWhileThePrimaryRebuilds() throws Exception {
    FakeFuxiMaster master = new FakeFuxiMaster();
    master.onUnary((method, request) -> {
      throw fuxiError(Status.Code.UNAVAILABLE, "REBUILDING", null);
    });
    FuxiClient client = client(Duration.ofMillis(300), serve(master));

    assertThatThrownBy(() -> client.list(List.of()))
        .isInstanceOfSatisfying(FuxiException.class, e -> {
          assertThat(e.code()).isEqualTo(FuxiErrorCode.MASTER_UNAVAILABLE);
          assertThat(e.getMessage()).contains("REBUILDING");
        });
    assertThat(master.count("list")).isGreaterThan(1);
  }

  @Test
  void listSendsTheStatesAndSetQuotaGroupTheBounds() throws Exception {
    FakeFuxiMaster master = new FakeFuxiMaster();
    master.onUnary((method, request) -> switch (method) {
      case "list" -> ListApplicationsResponse.newBuilder().addApplications(
          ApplicationStatus.newBuilder().setApplicationId("a1")
              .setState(ApplicationStatus.State.RUNNING)).build();
      case "setQuotaGroup" -> {
        SetQuotaGroupRequest r = (SetQuotaGroupRequest) request;
        yield QuotaGroupStatus.newBuilder().setName(r.getName()).setMin(r.getMin())
            .setMax(r.getMax()).build();
      }
      default -> throw Status.UNIMPLEMENTED.asRuntimeException();
    });
    FuxiClient client = client(serve(master));

    assertThat(client.list(List.of(ApplicationStatus.State.RUNNING)))
        .extracting(ApplicationStatus::getApplicationId).containsExactly("a1");
    assertThat(((ListApplicationsRequest) master.requests.get(0)).getStatesList())
        .containsExactly(ApplicationStatus.State.RUNNING);
    QuotaGroupStatus group = client.setQuotaGroup("batch", res(1000, 1024), res(8000, 8192));
    assertThat(group.getMax().getCpuMillis()).isEqualTo(8000);
  }

  @Test
  void deleteQuotaGroupSendsTheNameAndReportsAGroupInUse() throws Exception {
    FakeFuxiMaster master = new FakeFuxiMaster();
    master.onUnary((method, request) -> {
      if (!method.equals("deleteQuotaGroup")) {
        throw Status.UNIMPLEMENTED.asRuntimeException();
      }
      if (((DeleteQuotaGroupRequest) request).getName().equals("busy")) {
        throw fuxiError(Status.Code.FAILED_PRECONDITION, "QUOTA_GROUP_IN_USE", null);
      }
      return DeleteQuotaGroupResponse.getDefaultInstance();
    });
    FuxiClient client = client(serve(master));

    client.deleteQuotaGroup("etl");
    assertThat(((DeleteQuotaGroupRequest) master.requests.get(0)).getName()).isEqualTo("etl");
    assertThatThrownBy(() -> client.deleteQuotaGroup("busy"))
        .isInstanceOfSatisfying(FuxiException.class, e -> {
          assertThat(e.status()).isEqualTo(Status.Code.FAILED_PRECONDITION);
          assertThat(e.code()).isEqualTo(FuxiErrorCode.QUOTA_GROUP_IN_USE);
        });
    assertThat(master.count("deleteQuotaGroup")).isEqualTo(2);
  }

  @Test
  void aKillWhoseFirstAnswerWasLostAnswersTheKilledStatus() throws Exception {
    FakeFuxiMaster master = new FakeFuxiMaster();
    AtomicInteger kills = new AtomicInteger();
    ApplicationStatus killed = ApplicationStatus.newBuilder().setApplicationId("a1")
        .setState(ApplicationStatus.State.KILLED).build();
    master.onUnary((method, request) -> switch (method) {
      case "kill" -> {
        if (kills.incrementAndGet() == 1) {
          // The kill took effect but the answer was lost.
          throw Status.UNAVAILABLE.withDescription("connection reset").asRuntimeException();
        }
        throw fuxiError(Status.Code.FAILED_PRECONDITION, "APPLICATION_FINISHED", null);
      }
      case "get" -> killed;
      default -> throw Status.UNIMPLEMENTED.asRuntimeException();
    });
    FuxiClient client = client(serve(master));

    assertThat(client.kill("a1", "test").getState()).isEqualTo(ApplicationStatus.State.KILLED);
    assertThat(master.count("kill")).isEqualTo(2);
  }

  @Test
  void killOfAnApplicationThatSucceededIsRefused() throws Exception {
    FakeFuxiMaster master = new FakeFuxiMaster();
    master.onUnary((method, request) -> switch (method) {
      case "kill" -> throw fuxiError(Status.Code.FAILED_PRECONDITION, "APPLICATION_FINISHED",
          null);
      case "get" -> ApplicationStatus.newBuilder().setApplicationId("a1")
          .setState(ApplicationStatus.State.SUCCEEDED).build();
      default -> throw Status.UNIMPLEMENTED.asRuntimeException();
    });
    FuxiClient client = client(serve(master));

    assertThatThrownBy(() -> client.kill("a1", "test"))
        .isInstanceOfSatisfying(FuxiException.class,
            e -> assertThat(e.code()).isEqualTo(FuxiErrorCode.APPLICATION_FINISHED));
  }
}
