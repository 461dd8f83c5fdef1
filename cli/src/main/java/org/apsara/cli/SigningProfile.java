package org.apsara.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.apsara.cli.identity.IdentityConnection;
import org.apsara.tenant.api.CredentialsFile;
import picocli.CommandLine.Option;

/**
 * {@code --profile} and {@code --credentials} for commands that call a service with signed
 * requests (the file system, the scheduler). A picocli mixin; one instance per invocation.
 *
 * <p>Signing is on whenever the profile exists, so that {@code ./apsara up}'s {@code default}
 * profile is used without a flag. Without a credentials file, and with neither option given, calls
 * go unsigned, for clusters that run without authentication; a profile or file named explicitly
 * must exist.
 */
public final class SigningProfile {
  @Option(names = "--profile", paramLabel = "NAME",
      defaultValue = "${env:" + IdentityConnection.PROFILE_ENV + "}",
      description = "Profile of the credentials file to sign requests with (default: "
          + CredentialsFile.DEFAULT_PROFILE + ", if the file has it; or set "
          + IdentityConnection.PROFILE_ENV + ").")
  String profile;

  @Option(names = "--credentials", paramLabel = "FILE",
      defaultValue = "${env:" + IdentityConnection.CREDENTIALS_FILE_ENV + "}",
      description = "The credentials file (default: ~/.apsara/credentials; or set "
          + IdentityConnection.CREDENTIALS_FILE_ENV + ").")
  Path credentials;

  /**
   * The profile to sign with, or empty to send unsigned requests.
   *
   * @throws IOException if a named file or profile does not exist (the message says how to get
   *     one), or the file is malformed or readable by others
   */
  public Optional<CredentialsFile.Profile> resolve() throws IOException {
    boolean named = profile != null || credentials != null;
    Path file = credentials != null ? credentials : CredentialsFile.defaultPath();
    String name = profile != null ? profile : CredentialsFile.DEFAULT_PROFILE;
    if (!named && (!Files.exists(file)
        || !CredentialsFile.readAll(file).containsKey(name))) {
      return Optional.empty();
    }
    return Optional.of(IdentityConnection.readProfile(file, name));
  }
}
