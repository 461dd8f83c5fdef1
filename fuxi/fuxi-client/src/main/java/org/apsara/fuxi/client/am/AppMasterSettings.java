package org.apsara.fuxi.client.am;

import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.apsara.common.net.HostPort;
import org.apsara.fuxi.api.AppMasterEnvironment;
import org.apsara.fuxi.client.Backoff;
import org.apsara.security.tls.TlsContexts;
import org.apsara.security.tls.TlsMaterial;

/**
 * Who an application master is and how it reaches the master group. Immutable.
 *
 * @param applicationId its application
 * @param attempt which start of the AM this is, from 1
 * @param masters the FuxiMaster members' client addresses
 * @param applicationToken the capability token the master gave this application
 * @param machineId the machine the AM runs on; "" if unknown
 * @param tls a client TLS context for the masters and Tubos, or null for plaintext
 * @param reconnectTimeout how long the session tries to be welcomed again after losing its stream
 *     before it gives up ({@link AppMasterListener#onSessionLost})
 * @param welcomeTimeout how long an opened stream may go without a Welcome before the session
 *     tries again
 * @param backoff pauses between reconnection attempts
 */
public record AppMasterSettings(
    String applicationId,
    int attempt,
    List<HostPort> masters,
    String applicationToken,
    String machineId,
    SslContext tls,
    Duration reconnectTimeout,
    Duration welcomeTimeout,
    Backoff backoff) {

  /** Longer than a failover: an election through Nuwa and the new primary's rebuild. */
  public static final Duration DEFAULT_RECONNECT_TIMEOUT = Duration.ofMinutes(5);
  /**
   * A rebuilding primary holds a Hello until its rebuild ends (about the Tubo dead interval, 10 s
   * by default), so this is well above that.
   */
  public static final Duration DEFAULT_WELCOME_TIMEOUT = Duration.ofSeconds(30);
  public static final Backoff DEFAULT_BACKOFF =
      new Backoff(Duration.ofMillis(50), Duration.ofSeconds(2));

  public AppMasterSettings {
    if (applicationId == null || applicationId.isEmpty()) {
      throw new IllegalArgumentException("an application master needs its application id");
    }
    if (attempt < 1) {
      throw new IllegalArgumentException("AM attempt must be at least 1: " + attempt);
    }
    masters = List.copyOf(masters);
    Objects.requireNonNull(applicationToken, "applicationToken");
    machineId = machineId == null ? "" : machineId;
    Objects.requireNonNull(reconnectTimeout, "reconnectTimeout");
    Objects.requireNonNull(welcomeTimeout, "welcomeTimeout");
    Objects.requireNonNull(backoff, "backoff");
  }

  /** Explicit values with the default timeouts and no TLS. */
  public static AppMasterSettings of(String applicationId, int attempt, List<HostPort> masters,
      String applicationToken) {
    return new AppMasterSettings(applicationId, attempt, masters, applicationToken, "", null,
        DEFAULT_RECONNECT_TIMEOUT, DEFAULT_WELCOME_TIMEOUT, DEFAULT_BACKOFF);
  }

  /**
   * The settings FuxiMaster put in a launched AM's environment (the {@link AppMasterEnvironment}
   * variables), with the default timeouts and no TLS.
   *
   * @throws IllegalArgumentException naming a missing or malformed variable
   */
  public static AppMasterSettings fromEnvironment(Map<String, String> environment) {
    String id = required(environment, AppMasterEnvironment.APPLICATION_ID);
    String attemptText = required(environment, AppMasterEnvironment.ATTEMPT);
    int attempt;
    try {
      attempt = Integer.parseInt(attemptText.strip());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(AppMasterEnvironment.ATTEMPT + " is not a number: '"
          + attemptText + "'");
    }
    List<HostPort> masters = HostPort.parseList(required(environment,
        AppMasterEnvironment.MASTERS));
    String token = required(environment, AppMasterEnvironment.APPLICATION_TOKEN);
    return new AppMasterSettings(id, attempt, masters, token,
        environment.getOrDefault(AppMasterEnvironment.MACHINE_ID, ""),
        tlsFrom(environment.get(AppMasterEnvironment.TLS_CA)),
        DEFAULT_RECONNECT_TIMEOUT, DEFAULT_WELCOME_TIMEOUT, DEFAULT_BACKOFF);
  }

  /** TLS verifying against the CA certificates of {@code caFile}, or null (plaintext) without. */
  private static SslContext tlsFrom(String caFile) {
    if (caFile == null || caFile.isBlank()) {
      return null;
    }
    try {
      return TlsContexts.forClient(TlsMaterial.of(null, null, Path.of(caFile.strip())));
    } catch (IOException | RuntimeException e) {
      throw new IllegalArgumentException(AppMasterEnvironment.TLS_CA + " names " + caFile
          + ", which cannot be used as CA certificates: " + e.getMessage(), e);
    }
  }

  public AppMasterSettings withTls(SslContext value) {
    return new AppMasterSettings(applicationId, attempt, masters, applicationToken, machineId,
        value, reconnectTimeout, welcomeTimeout, backoff);
  }

  public AppMasterSettings withTimeouts(Duration reconnect, Duration welcome, Backoff pauses) {
    return new AppMasterSettings(applicationId, attempt, masters, applicationToken, machineId,
        tls, reconnect, welcome, pauses);
  }

  private static String required(Map<String, String> environment, String name) {
    String value = environment.get(name);
    if (value == null || value.isBlank()) {
      throw new IllegalArgumentException("the environment variable " + name + " is not set;"
          + " an application master is started by FuxiMaster, which sets it");
    }
    return value;
  }
}
