package org.apsara.fuxi.client;

import java.util.Collection;
import java.util.List;
import java.util.UUID;
import org.apsara.fuxi.api.v1.ApplicationStatus;
import org.apsara.fuxi.api.v1.GetApplicationRequest;
import org.apsara.fuxi.api.v1.KillApplicationRequest;
import org.apsara.fuxi.api.v1.ListApplicationsRequest;
import org.apsara.fuxi.api.v1.ListNodesRequest;
import org.apsara.fuxi.api.v1.DeleteQuotaGroupRequest;
import org.apsara.fuxi.api.v1.ListQuotaGroupsRequest;
import org.apsara.fuxi.api.v1.NodeStatus;
import org.apsara.fuxi.api.v1.QuotaGroupStatus;
import org.apsara.fuxi.api.v1.Resources;
import org.apsara.fuxi.api.v1.SetQuotaGroupRequest;

/**
 * The FuxiMaster client: submits, watches and kills applications, lists machines, sets quota
 * groups.
 *
 * <p><b>The master group.</b> Calls go to the primary, found by following the address a standby
 * names when it refuses with {@code UNAVAILABLE NOT_PRIMARY}; a new primary that is still
 * rebuilding ({@code UNAVAILABLE REBUILDING}), a member that is down and an attempt whose outcome
 * is unknown are retried with a growing, jittered pause until {@link
 * FuxiClientConfig#operationTimeout}. Every operation is safe to repeat: {@link #submit} sends one
 * generated request id on every attempt, so a retried submit is never a second application.
 *
 * <p><b>Signing.</b> With {@link FuxiClientConfig#credentials} every call is signed for the service
 * {@code fuxi} in the credentials' region, as a master with authentication requires; an unsigned
 * or badly signed call ends {@code UNAUTHENTICATED}, one the caller's policies do not allow {@code
 * PERMISSION_DENIED}, and neither is retried.
 *
 * <p><b>Errors</b> are {@link FuxiException}s carrying the gRPC status, the server's {@code
 * x-fuxi-error-code} and its message; a refusal means nothing changed.
 *
 * <p><b>Threading.</b> Thread-safe; calls block the calling thread. Holds one channel per master
 * member, closed by {@link #close}.
 */
public final class FuxiClient implements AutoCloseable {
  private final FuxiClientConfig config;
  private final MasterChannels channels;
  private final MasterCaller caller;

  private FuxiClient(FuxiClientConfig config) {
    this.config = config;
    this.channels = new MasterChannels(config.masters(), config.tls());
    this.caller = new MasterCaller(config, channels);
  }

  /** A client of the master group {@code config.masters()}; connects lazily. */
  public static FuxiClient connect(FuxiClientConfig config) {
    return new FuxiClient(config);
  }

  public FuxiClientConfig config() {
    return config;
  }

  /**
   * Submits an application under a newly generated request id.
   *
   * @return the new application's id
   */
  public String submit(ApplicationSpec spec) throws FuxiException, InterruptedException {
    return submit(spec, UUID.randomUUID().toString());
  }

  /**
   * Submits an application under {@code requestId}: submitting the same request id again (say,
   * after this process restarted) answers the id of the application it created the first time.
   */
  public String submit(ApplicationSpec spec, String requestId)
      throws FuxiException, InterruptedException {
    if (requestId == null || requestId.isBlank()) {
      throw new IllegalArgumentException("a submit needs a request id");
    }
    var request = spec.toRequest(requestId);
    return caller.call("submit", stub -> stub.submitApplication(request)).getApplicationId();
  }

  /**
   * The status of one application.
   *
   * @throws FuxiException {@code NOT_FOUND UNKNOWN_APPLICATION} if there is none
   */
  public ApplicationStatus get(String applicationId) throws FuxiException, InterruptedException {
    var request = GetApplicationRequest.newBuilder().setApplicationId(applicationId).build();
    return caller.call("get application " + applicationId,
        stub -> stub.getApplication(request));
  }

  /** The applications in {@code states}; all of them when empty. */
  public List<ApplicationStatus> list(Collection<ApplicationStatus.State> states)
      throws FuxiException, InterruptedException {
    var request = ListApplicationsRequest.newBuilder().addAllStates(states).build();
    return caller.call("list applications", stub -> stub.listApplications(request))
        .getApplicationsList();
  }

  /**
   * Kills an application: its AM and workers are stopped, its grants released; it ends KILLED.
   * Killing an application already KILLED answers its status (a retried kill lands there).
   *
   * @throws FuxiException {@code FAILED_PRECONDITION APPLICATION_FINISHED} if it had ended
   *     otherwise
   */
  public ApplicationStatus kill(String applicationId, String reason)
      throws FuxiException, InterruptedException {
    var request = KillApplicationRequest.newBuilder().setApplicationId(applicationId)
        .setReason(reason == null ? "" : reason).build();
    try {
      return caller.call("kill " + applicationId, stub -> stub.killApplication(request));
    } catch (FuxiException e) {
      if (e.code() == FuxiErrorCode.APPLICATION_FINISHED) {
        // An earlier attempt whose answer was lost may have been the one that killed it.
        ApplicationStatus status = get(applicationId);
        if (status.getState() == ApplicationStatus.State.KILLED) {
          return status;
        }
      }
      throw e;
    }
  }

  /** Every machine the master knows, alive or dead. */
  public List<NodeStatus> nodes() throws FuxiException, InterruptedException {
    return caller.call("list nodes",
        stub -> stub.listNodes(ListNodesRequest.getDefaultInstance())).getNodesList();
  }

  /** Creates or changes a quota group: its guaranteed minimum and hard maximum. */
  public QuotaGroupStatus setQuotaGroup(String name, Resources min, Resources max)
      throws FuxiException, InterruptedException {
    var request = SetQuotaGroupRequest.newBuilder().setName(name).setMin(min).setMax(max).build();
    return caller.call("set quota group " + name, stub -> stub.setQuotaGroup(request));
  }

  /**
   * Deletes a quota group. Refused with {@link FuxiErrorCode#QUOTA_GROUP_IN_USE} while an
   * application that has not ended belongs to it, {@link FuxiErrorCode#UNKNOWN_QUOTA_GROUP} when
   * there is no such group (also when an earlier attempt whose answer was lost deleted it), and
   * {@link FuxiErrorCode#INVALID_ARGUMENT} for the group {@code default}. Thread-safe, as every
   * method of this client.
   */
  public void deleteQuotaGroup(String name) throws FuxiException, InterruptedException {
    var request = DeleteQuotaGroupRequest.newBuilder().setName(name).build();
    caller.call("delete quota group " + name, stub -> stub.deleteQuotaGroup(request));
  }

  /** Every quota group with its use. */
  public List<QuotaGroupStatus> quotaGroups() throws FuxiException, InterruptedException {
    return caller.call("list quota groups",
        stub -> stub.listQuotaGroups(ListQuotaGroupsRequest.getDefaultInstance()))
        .getGroupsList();
  }

  /** Closes the channels; calls in flight fail. */
  @Override
  public void close() {
    channels.close();
  }
}
