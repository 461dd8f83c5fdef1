package org.apsara.cli.identity;

import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.apsara.cli.DurationConverter;
import org.apsara.cli.LogSetup;
import org.apsara.common.net.HostPort;
import org.apsara.security.grpc.SigningClientInterceptor;
import org.apsara.tenant.api.CredentialsFile;
import org.apsara.tenant.api.IdentityClient;
import org.apsara.tenant.server.TenantConfig;
import picocli.CommandLine.Option;
import picocli.CommandLine;

/**
 * The options every identity command shares: which profile of which credentials file to sign with,
 * where the identity service is, and how long a call may take.
 *
 * <p>The endpoint is the first of: {@code --endpoint}, the profile's {@code endpoint}, {@link
 * #DEFAULT_ENDPOINT}. The connection is TLS when the profile names a CA file ({@code ca_file}, as
 * {@code apsara up --tls} writes it), with the profile's client certificate if it has one. A picocli mixin: one instance per command invocation, not thread-safe.
 */
public final class IdentityConnection {
  /** Where the identity service of a cluster started with {@code apsara up} listens. */
  public static final HostPort DEFAULT_ENDPOINT =
      HostPort.of("127.0.0.1", TenantConfig.DEFAULT_PORT);
  /** The environment variable naming the credentials file, if not the default. */
  public static final String CREDENTIALS_FILE_ENV = "APSARA_CREDENTIALS_FILE";
  /** The environment variable naming the profile, if not {@code default}. */
  public static final String PROFILE_ENV = "APSARA_PROFILE";
  /** How long closing waits for calls in flight; a command has none left by then. */
  private static final Duration CHANNEL_SHUTDOWN_GRACE = Duration.ofSeconds(2);

  @Option(names = "--profile", paramLabel = "NAME",
      defaultValue = "${env:" + PROFILE_ENV + ":-" + CredentialsFile.DEFAULT_PROFILE + "}",
      description = "Profile of the credentials file to sign with (default: ${DEFAULT-VALUE}; "
          + "or set " + PROFILE_ENV + ").")
  String profile;

  @Option(names = "--credentials", paramLabel = "FILE",
      defaultValue = "${env:" + CREDENTIALS_FILE_ENV + "}",
      description = "The credentials file: " + CREDENTIALS_FILE_ENV + " if set, else "
          + "~/.apsara/credentials.")
  Path credentials;

  @Option(names = "--endpoint", paramLabel = "HOST:PORT", converter = EndpointConverter.class,
      description = "The identity service to call, instead of the profile's endpoint "
          + "(default when neither gives one: 127.0.0.1:7070).")
  HostPort endpoint;

  @Option(names = "--timeout", paramLabel = "DURATION", defaultValue = "10s",
      converter = DurationConverter.class,
      description = "How long one call may take, e.g. 500ms, 10s (default: ${DEFAULT-VALUE}).")
  Duration timeout;

  /** The credentials file these options name. */
  public Path credentialsFile() {
    return credentials != null ? credentials : CredentialsFile.defaultPath();
  }

  /** The profile name these options name. */
  public String profileName() {
    return profile;
  }

  /** The call timeout. */
  public Duration timeout() {
    return timeout;
  }

  /**
   * Reads the profile and opens a client that signs with it. Nothing is sent until the first call.
   *
   * @throws IdentityCommandException if the credentials file or the profile does not exist; the
   *     message says how to get one
   * @throws IOException if the credentials file cannot be read or is malformed or too open
   */
  public Session open() throws IOException {
    // Only warnings reach the console: what a client command prints is its answer.
    LogSetup.forClient();
    Path file = credentialsFile();
    CredentialsFile.Profile signer = readProfile(file, profile);
    HostPort target = endpoint != null ? endpoint : signer.endpoint().orElse(DEFAULT_ENDPOINT);
    // The profile says whether the service speaks TLS (its ca_file) and with which certificate.
    ManagedChannel channel = Grpc.newChannelBuilderForAddress(
            target.host(), target.port(), IdentityClient.channelCredentials(signer.tls()))
        .maxInboundMessageSize(IdentityClient.MAX_INBOUND_MESSAGE_BYTES)
        .build();
    Channel signed = ClientInterceptors.intercept(
        channel, new SigningClientInterceptor(signer.credentials(), Clock.systemUTC()));
    return new Session(new IdentityClient(signed, timeout), channel, target, signer, file, timeout);
  }

  /**
   * Profile {@code profile} of the credentials file {@code file}.
   *
   * @throws IdentityCommandException if the file or the profile does not exist; the message says
   *     how to get one
   * @throws IOException if the file cannot be read or is malformed or too open
   */
  public static CredentialsFile.Profile readProfile(Path file, String profile)
      throws IOException {
    Map<String, CredentialsFile.Profile> profiles;
    try {
      profiles = CredentialsFile.readAll(file);
    } catch (NoSuchFileException e) {
      throw new IdentityCommandException("no credentials file at " + file + ". Run `./apsara up`,"
          + " which writes the " + CredentialsFile.DEFAULT_PROFILE + " profile there, or save a"
          + " key with `apsara key create --user USER --save-profile NAME` (signed with a profile"
          + " that may); or name another file with --credentials or " + CREDENTIALS_FILE_ENV + ".");
    }
    CredentialsFile.Profile found = profiles.get(profile);
    if (found == null) {
      throw new IdentityCommandException("credentials file " + file + " has no profile ["
          + profile + "] (it has: " + (profiles.isEmpty() ? "none" : String.join(", ",
              profiles.keySet())) + "). Create it with `apsara key create --user USER"
          + " --save-profile " + profile + "` (signed with a profile that may), or choose another"
          + " with --profile or " + PROFILE_ENV + ".");
    }
    return found;
  }

  /**
   * An open connection to the identity service: the client and what it was opened with. Closing it
   * shuts the channel down. The client is thread-safe; the session is owned by one command.
   *
   * @param client signs every call with the profile's AccessKey, with the command's timeout
   * @param channel the client's channel, which this session owns
   * @param endpoint where the calls go
   * @param profile the profile the calls are signed with
   * @param credentialsFile the file the profile was read from
   * @param timeout the deadline of each call
   */
  public record Session(IdentityClient client, ManagedChannel channel, HostPort endpoint,
      CredentialsFile.Profile profile, Path credentialsFile, Duration timeout)
      implements AutoCloseable {
    public Session {
      Objects.requireNonNull(client, "client");
      Objects.requireNonNull(channel, "channel");
      Objects.requireNonNull(endpoint, "endpoint");
      Objects.requireNonNull(profile, "profile");
      Objects.requireNonNull(credentialsFile, "credentialsFile");
      Objects.requireNonNull(timeout, "timeout");
    }

    @Override
    public void close() {
      channel.shutdown();
      try {
        if (!channel.awaitTermination(CHANNEL_SHUTDOWN_GRACE.toNanos(), TimeUnit.NANOSECONDS)) {
          channel.shutdownNow();
        }
      } catch (InterruptedException e) {
        channel.shutdownNow();
        Thread.currentThread().interrupt();
      }
    }
  }

  /** Parses {@code host:port}, or {@code host} alone with the identity service's default port. */
  static final class EndpointConverter implements CommandLine.ITypeConverter<HostPort> {
    @Override
    public HostPort convert(String value) {
      try {
        return HostPort.parse(value, TenantConfig.DEFAULT_PORT);
      } catch (IllegalArgumentException e) {
        throw new CommandLine.TypeConversionException(e.getMessage());
      }
    }
  }
}
