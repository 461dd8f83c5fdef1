package org.apsara.fuxi.client;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.apsara.fuxi.api.v1.Resources;
import org.apsara.fuxi.api.v1.SubmitApplicationRequest;
import org.apsara.fuxi.api.v1.WorkerClass;

/**
 * What to submit: the application's name, tenant and quota group, and its application master's
 * command, environment, unit and class. Immutable; build one with {@link #builder}. The master
 * validates everything again; this only refuses what can never be right.
 *
 * @param name for people, at most {@link #NAME_BYTES_MAX} bytes
 * @param tenant the tenant it runs for; "" for none
 * @param quotaGroup "" for the master's default group
 * @param amCommand the program and its arguments, not empty
 * @param amEnvironment added to the AM's environment (the master adds the FUXI_* variables)
 * @param amResources the AM's unit
 * @param amClass the AM's worker class
 * @param maxAmAttempts how many times the AM is started before the application fails; 0 for the
 *     master's default
 */
public record ApplicationSpec(
    String name,
    String tenant,
    String quotaGroup,
    List<String> amCommand,
    Map<String, String> amEnvironment,
    Resources amResources,
    WorkerClass amClass,
    int maxAmAttempts) {

  /** The master refuses longer names (fuxi.proto). */
  public static final int NAME_BYTES_MAX = 256;
  /** A small AM: one core, 1 GiB. */
  public static final Resources DEFAULT_AM_RESOURCES =
      Resources.newBuilder().setCpuMillis(1_000).setMemoryMib(1_024).build();

  public ApplicationSpec {
    Objects.requireNonNull(name, "name");
    if (name.getBytes(StandardCharsets.UTF_8).length > NAME_BYTES_MAX) {
      throw new IllegalArgumentException("application name longer than " + NAME_BYTES_MAX
          + " bytes");
    }
    tenant = tenant == null ? "" : tenant;
    quotaGroup = quotaGroup == null ? "" : quotaGroup;
    amCommand = List.copyOf(amCommand);
    if (amCommand.isEmpty()) {
      throw new IllegalArgumentException("the application master command is empty");
    }
    amEnvironment = Map.copyOf(amEnvironment);
    Objects.requireNonNull(amResources, "amResources");
    Objects.requireNonNull(amClass, "amClass");
    if (maxAmAttempts < 0) {
      throw new IllegalArgumentException("max AM attempts must not be negative: " + maxAmAttempts);
    }
  }

  /** The request carrying this spec under {@code requestId}. */
  public SubmitApplicationRequest toRequest(String requestId) {
    return SubmitApplicationRequest.newBuilder()
        .setRequestId(requestId)
        .setName(name)
        .setTenant(tenant)
        .setQuotaGroup(quotaGroup)
        .addAllAmCommand(amCommand)
        .putAllAmEnvironment(amEnvironment)
        .setAmResources(amResources)
        .setAmClass(amClass)
        .setMaxAmAttempts(maxAmAttempts)
        .build();
  }

  public static Builder builder(List<String> amCommand) {
    return new Builder(amCommand);
  }

  /** Collects an {@link ApplicationSpec}. Not thread-safe. */
  public static final class Builder {
    private final List<String> amCommand;
    private String name = "";
    private String tenant = "";
    private String quotaGroup = "";
    private final Map<String, String> amEnvironment = new LinkedHashMap<>();
    private Resources amResources = DEFAULT_AM_RESOURCES;
    private WorkerClass amClass = WorkerClass.LATENCY_SENSITIVE;
    private int maxAmAttempts;

    private Builder(List<String> amCommand) {
      this.amCommand = new ArrayList<>(amCommand);
    }

    public Builder name(String value) {
      name = value;
      return this;
    }

    public Builder tenant(String value) {
      tenant = value;
      return this;
    }

    public Builder quotaGroup(String value) {
      quotaGroup = value;
      return this;
    }

    public Builder environment(String key, String value) {
      amEnvironment.put(key, value);
      return this;
    }

    public Builder amResources(long cpuMillis, long memoryMib) {
      amResources = Resources.newBuilder().setCpuMillis(cpuMillis).setMemoryMib(memoryMib).build();
      return this;
    }

    public Builder amClass(WorkerClass value) {
      amClass = value;
      return this;
    }

    public Builder maxAmAttempts(int value) {
      maxAmAttempts = value;
      return this;
    }

    public ApplicationSpec build() {
      return new ApplicationSpec(name, tenant, quotaGroup, amCommand, amEnvironment, amResources,
          amClass, maxAmAttempts);
    }
  }
}
