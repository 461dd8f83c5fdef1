package org.apsara.fuxi.master.server;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.apsara.fuxi.api.v1.ApplicationStatus;
import org.apsara.fuxi.api.v1.QuotaGroupStatus;
import org.apsara.fuxi.api.v1.SubmitApplicationRequest;
import org.apsara.nuwa.api.NuwaLimits;
import org.apsara.nuwa.client.Cmp;
import org.apsara.nuwa.client.DeleteOptions;
import org.apsara.nuwa.client.KeyRange;
import org.apsara.nuwa.client.KeyValue;
import org.apsara.nuwa.client.NuwaClient;
import org.apsara.nuwa.client.Op;
import org.apsara.nuwa.client.Txn;

/**
 * FuxiMaster's hard state in Nuwa, under {@value #ROOT}:
 *
 * <ul>
 *   <li>{@code election/...}: the primary election (keys of the nuwa-client LeaderElection recipe,
 *       each holding a candidate's client address).
 *   <li>{@code applications/<id>/request}: the {@code SubmitApplicationRequest} as accepted,
 *       written once.
 *   <li>{@code applications/<id>/status}: an {@code ApplicationStatus} holding what survives a
 *       failover: name, tenant, quota group, state, AM attempt and machine, diagnostics, times.
 *   <li>{@code request-ids/<request id>}: the application id a submit request created, which is
 *       what makes a retried submit idempotent across failovers.
 *   <li>{@code quota-groups/<name>}: a {@code QuotaGroupStatus} with name, min and max.
 *   <li>{@code next-application-number}: the counter application ids are made from.
 * </ul>
 *
 * Finished applications are purged ({@link #purgeApplications}): both keys of the application and
 * its request id go in one transaction, so a new primary loads either all of an application or
 * none of it.
 *
 * <p>Every write is a transaction guarded by the primary's election key still having the create
 * revision it had when this member was elected: a deposed primary (its session expired, another
 * member elected) cannot overwrite what the new primary wrote; its write fails with {@link
 * DeposedException}.
 *
 * <p>Threading: not thread-safe; used only by the scheduler thread. Calls block on Nuwa.
 */
final class HardStateStore {
  static final String ROOT = "/apsara/fuxi/";
  static final String ELECTION = ROOT + "election";
  static final String APPLICATIONS = ROOT + "applications/";
  static final String REQUEST_IDS = ROOT + "request-ids/";
  static final String QUOTA_GROUPS = ROOT + "quota-groups/";
  static final String NEXT_APPLICATION_NUMBER = ROOT + "next-application-number";
  /** Nuwa operations one purged application costs: its keys (one prefix), its request id. */
  static final int OPS_PER_PURGED_APPLICATION = 2;
  /** Applications one {@link #purgeApplications} transaction deletes at most. */
  static final int PURGE_BATCH_MAX = NuwaLimits.MAX_TXN_OPS / OPS_PER_PURGED_APPLICATION;

  /** Thrown when a guarded write finds that this member no longer leads. */
  static final class DeposedException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    DeposedException(String message) {
      super(message);
    }
  }

  /** An application as stored. */
  record StoredApplication(SubmitApplicationRequest request, ApplicationStatus status) {}

  /** Everything stored, as a new primary loads it. */
  record Loaded(
      Map<String, StoredApplication> applications,
      Map<String, String> requestIds,
      List<QuotaGroupStatus> quotaGroups,
      long nextApplicationNumber) {}

  private final NuwaClient nuwa;
  private ByteString electionKey;
  private long electionRevision;

  HardStateStore(NuwaClient nuwa) {
    this.nuwa = Objects.requireNonNull(nuwa, "nuwa");
  }

  /** Guards every later write with this member's election key and its create revision. */
  void guard(ByteString electionKey, long electionRevision) {
    this.electionKey = electionKey;
    this.electionRevision = electionRevision;
  }

  Loaded load() {
    Map<String, SubmitApplicationRequest> requests = new LinkedHashMap<>();
    Map<String, ApplicationStatus> statuses = new LinkedHashMap<>();
    for (KeyValue kv : nuwa.kv().getPrefix(APPLICATIONS).kvs()) {
      String rest = kv.keyUtf8().substring(APPLICATIONS.length());
      int slash = rest.lastIndexOf('/');
      if (slash <= 0) {
        continue;
      }
      String id = rest.substring(0, slash);
      try {
        switch (rest.substring(slash + 1)) {
          case "request" -> requests.put(id, SubmitApplicationRequest.parseFrom(kv.value()));
          case "status" -> statuses.put(id, ApplicationStatus.parseFrom(kv.value()));
          default -> { }
        }
      } catch (InvalidProtocolBufferException e) {
        throw new IllegalStateException("corrupt Fuxi hard state at " + kv.keyUtf8(), e);
      }
    }
    Map<String, StoredApplication> apps = new LinkedHashMap<>();
    for (Map.Entry<String, ApplicationStatus> e : statuses.entrySet()) {
      SubmitApplicationRequest request = requests.get(e.getKey());
      if (request != null) {
        apps.put(e.getKey(), new StoredApplication(request, e.getValue()));
      }
    }
    Map<String, String> requestIds = new LinkedHashMap<>();
    for (KeyValue kv : nuwa.kv().getPrefix(REQUEST_IDS).kvs()) {
      requestIds.put(kv.keyUtf8().substring(REQUEST_IDS.length()), kv.valueUtf8());
    }
    List<QuotaGroupStatus> groups = new ArrayList<>();
    for (KeyValue kv : nuwa.kv().getPrefix(QUOTA_GROUPS).kvs()) {
      try {
        groups.add(QuotaGroupStatus.parseFrom(kv.value()));
      } catch (InvalidProtocolBufferException e) {
        throw new IllegalStateException("corrupt Fuxi hard state at " + kv.keyUtf8(), e);
      }
    }
    long next = nuwa.kv().get(NEXT_APPLICATION_NUMBER).first()
        .map(kv -> Long.parseLong(kv.valueUtf8())).orElse(1L);
    return new Loaded(apps, requestIds, groups, next);
  }

  /** Stores a new application, its request id and the advanced id counter, atomically. */
  void createApplication(SubmitApplicationRequest request, ApplicationStatus status,
      long nextApplicationNumber) {
    String id = status.getApplicationId();
    write(List.of(
        Op.put(key(APPLICATIONS + id + "/request"), request.toByteString()),
        Op.put(key(APPLICATIONS + id + "/status"), status.toByteString()),
        Op.put(REQUEST_IDS + request.getRequestId(), id),
        Op.put(NEXT_APPLICATION_NUMBER, Long.toString(nextApplicationNumber))));
  }

  void updateStatus(ApplicationStatus status) {
    write(List.of(Op.put(key(APPLICATIONS + status.getApplicationId() + "/status"),
        status.toByteString())));
  }

  /**
   * Deletes finished applications: their request, status and request-id keys, in one
   * transaction, so that a later primary loads none of them. At most {@link #PURGE_BATCH_MAX}
   * applications (Nuwa's {@code MAX_TXN_OPS}).
   */
  void purgeApplications(List<StoredApplication> finished) {
    if (finished.size() > PURGE_BATCH_MAX) {
      throw new IllegalArgumentException("a purge deletes at most PURGE_BATCH_MAX="
          + PURGE_BATCH_MAX + " applications, not " + finished.size());
    }
    List<Op> ops = new ArrayList<>(finished.size() * OPS_PER_PURGED_APPLICATION);
    for (StoredApplication app : finished) {
      ApplicationStatus.State state = app.status().getState();
      if (state != ApplicationStatus.State.SUCCEEDED && state != ApplicationStatus.State.FAILED
          && state != ApplicationStatus.State.KILLED) {
        throw new IllegalArgumentException("application " + app.status().getApplicationId()
            + " is " + state + ": only finished applications are purged");
      }
      // The trailing slash keeps app-1 from matching app-10's keys.
      ops.add(Op.delete(KeyRange.prefix(APPLICATIONS + app.status().getApplicationId() + "/"),
          DeleteOptions.DEFAULT));
      ops.add(Op.delete(REQUEST_IDS + app.request().getRequestId()));
    }
    if (!ops.isEmpty()) {
      write(ops);
    }
  }

  void putQuotaGroup(QuotaGroupStatus group) {
    write(List.of(Op.put(key(QUOTA_GROUPS + group.getName()), group.toByteString())));
  }

  void deleteQuotaGroup(String name) {
    write(List.of(Op.delete(key(QUOTA_GROUPS + name))));
  }

  private void write(List<Op> ops) {
    if (electionKey == null) {
      throw new DeposedException("this member was never elected");
    }
    Txn.Builder txn = Txn.builder().when(Cmp.createRevision(electionKey).equalTo(electionRevision));
    for (Op op : ops) {
      txn.then(op);
    }
    if (!nuwa.kv().txn(txn.build()).succeeded()) {
      throw new DeposedException("the election key " + electionKey.toStringUtf8()
          + " no longer has create revision " + electionRevision + ": another member leads");
    }
  }

  private static ByteString key(String key) {
    return ByteString.copyFromUtf8(key);
  }
}
