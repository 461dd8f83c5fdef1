package org.apsara.tenant.api;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import org.apsara.common.net.HostPort;
import org.apsara.security.sign.AccessKeyCredentials;
import org.apsara.security.sign.ServiceScope;
import org.apsara.security.tls.TlsMaterial;

/**
 * The {@code credentials} file: named profiles of AccessKeys, in the INI style of the Alibaba Cloud
 * and AWS command lines.
 *
 * <pre>
 * [default]
 * access_key_id = LTAI5tQ3wJx9Bz2Kd7Lm1Np8
 * access_key_secret = 0s9dR2...
 * endpoint = 10.0.0.5:7070
 * region = local
 * ca_file = /var/lib/apsara/ca/ca.crt
 * cert_file = /var/lib/apsara/certs/cli.crt
 * key_file = /var/lib/apsara/certs/cli.key
 * </pre>
 *
 * <p>Lines starting with {@code #} or {@code ;} are comments. A profile needs {@value #KEY_ID} and
 * {@value #KEY_SECRET}; {@value #KEY_ENDPOINT} (the identity service's {@code host:port}) is
 * optional, and so is {@value #KEY_REGION}, the cluster's region that calls to services other than
 * the identity service are signed for ({@value #DEFAULT_REGION} if absent, and then not written). With {@value #KEY_CA_FILE} the service is called over TLS and verified against that CA
 * certificate; {@value #KEY_CERT_FILE} and {@value #KEY_KEY_FILE} (both or neither) add a client
 * certificate. Other keys are ignored; rewriting their profile drops them.
 *
 * <p>The file holds secrets, so it is written with mode 0600 only (its directory, when created
 * here, with 0700), and a file that group or others may access is refused on reading, as ssh
 * refuses such a private key. {@link #write} replaces one profile and leaves every other line of the
 * file as it was; it writes a new file beside the old one and renames it over, so a reader sees the
 * old file or the new one, never half of one.
 *
 * <p>Stateless and thread-safe; concurrent writers of the same file may lose each other's profile
 * (the last rename wins), as with the command lines it imitates.
 */
public final class CredentialsFile {
  /** The profile used when none is named. */
  public static final String DEFAULT_PROFILE = "default";
  public static final String KEY_ID = "access_key_id";
  public static final String KEY_SECRET = "access_key_secret";
  public static final String KEY_ENDPOINT = "endpoint";
  /** The region of the cluster, which scoped signatures name. */
  public static final String KEY_REGION = "region";
  /** The region of a profile that names none: the region of a cluster that names none. */
  public static final String DEFAULT_REGION = "local";
  /** The CA certificate file that verifies the service; its presence means TLS. */
  public static final String KEY_CA_FILE = "ca_file";
  /** The client certificate file presented to the service. */
  public static final String KEY_CERT_FILE = "cert_file";
  /** The private key file of {@link #KEY_CERT_FILE}. */
  public static final String KEY_KEY_FILE = "key_file";
  /** Largest file read: a few dozen profiles take a few kilobytes. */
  public static final int FILE_BYTES_MAX = 64 * 1024;
  /** Longest profile name. */
  public static final int PROFILE_NAME_LENGTH_MAX = 64;
  /** The only permissions the file may have. */
  public static final Set<PosixFilePermission> FILE_PERMISSIONS =
      Set.copyOf(EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE));

  private static final Set<PosixFilePermission> DIRECTORY_PERMISSIONS = Set.copyOf(EnumSet.of(
      PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE,
      PosixFilePermission.OWNER_EXECUTE));
  private static final Pattern PROFILE_NAME =
      Pattern.compile("[A-Za-z0-9_.-]{1," + PROFILE_NAME_LENGTH_MAX + "}");

  /**
   * One profile.
   *
   * @param name the profile's name, for example {@code default}
   * @param credentials the AccessKey; its {@code toString} hides the secret
   * @param endpoint where the identity service is, if the profile says
   * @param tls the files to call the service over TLS with, if the profile says; always with a
   *     trusted CA file
   * @param region the cluster's region, which calls to services other than the identity service
   *     are signed for ({@link #serviceScope}); {@value #DEFAULT_REGION} unless the profile says
   */
  public record Profile(String name, AccessKeyCredentials credentials, Optional<HostPort> endpoint,
      Optional<TlsMaterial> tls, String region) {
    public Profile {
      checkProfileName(name);
      Objects.requireNonNull(credentials, "credentials");
      Objects.requireNonNull(endpoint, "endpoint");
      Objects.requireNonNull(tls, "tls");
      if (tls.isPresent() && tls.get().trustedCaFile().isEmpty()) {
        throw new IllegalArgumentException("profile [" + name + "]: TLS needs " + KEY_CA_FILE);
      }
      ServiceScope.checkName(KEY_REGION, region);
    }

    /** A profile in the {@value #DEFAULT_REGION} region. */
    public Profile(String name, AccessKeyCredentials credentials, Optional<HostPort> endpoint,
        Optional<TlsMaterial> tls) {
      this(name, credentials, endpoint, tls, DEFAULT_REGION);
    }

    /** A profile for a plaintext service in the {@value #DEFAULT_REGION} region. */
    public Profile(String name, AccessKeyCredentials credentials, Optional<HostPort> endpoint) {
      this(name, credentials, endpoint, Optional.empty());
    }

    /**
     * What calls to {@code service} in this profile's region are signed for: pass it to {@link
     * org.apsara.security.grpc.SigningClientInterceptor#forService}.
     */
    public ServiceScope serviceScope(String service) {
      return new ServiceScope(region, service);
    }
  }

  private CredentialsFile() {}

  /** {@code ~/.apsara/credentials}. */
  public static Path defaultPath() {
    return Path.of(System.getProperty("user.home"), ".apsara", "credentials");
  }

  /**
   * Reads one profile.
   *
   * @return the profile, or empty if the file has no profile of that name
   * @throws NoSuchFileException if the file does not exist
   * @throws IOException if it cannot be read, may be accessed by group or others, is larger than
   *     {@link #FILE_BYTES_MAX}, or is malformed; the message names the line
   */
  public static Optional<Profile> read(Path file, String profile) throws IOException {
    return Optional.ofNullable(readAll(file).get(profile));
  }

  /** Reads every profile, in the order of the file; throws as {@link #read}. */
  public static Map<String, Profile> readAll(Path file) throws IOException {
    checkPermissions(file);
    Map<String, Profile> profiles = new LinkedHashMap<>();
    for (Section section : parse(file, readLines(file))) {
      if (section.name != null) {
        profiles.put(section.name, section.toProfile(file));
      }
    }
    return profiles;
  }

  /**
   * Writes {@code profile} into the file, replacing a profile of the same name (all of its lines)
   * or appending it, and keeping every other line unchanged. Creates the file, and its directory,
   * if they do not exist. The file has mode 0600 afterwards, whatever it had before.
   *
   * @throws IOException if the file cannot be read or written, or an existing file is malformed
   */
  public static void write(Path file, Profile profile) throws IOException {
    Path absolute = file.toAbsolutePath();
    Path directory = absolute.getParent();
    if (!Files.isDirectory(directory)) {
      Files.createDirectories(directory,
          PosixFilePermissions.asFileAttribute(DIRECTORY_PERMISSIONS));
    }
    List<Section> sections = Files.exists(absolute)
        ? parse(absolute, readLines(absolute))
        : new ArrayList<>();
    List<String> replacement = profileLines(profile);
    boolean replaced = false;
    StringBuilder out = new StringBuilder();
    for (Section section : sections) {
      if (profile.name().equals(section.name)) {
        replacement.forEach(line -> out.append(line).append('\n'));
        // Comments and blank lines after the profile's last key usually introduce the next
        // profile, so they stay.
        section.lines.subList(section.lastContentLine + 1, section.lines.size())
            .forEach(line -> out.append(line).append('\n'));
        replaced = true;
      } else {
        section.lines.forEach(line -> out.append(line).append('\n'));
      }
    }
    if (!replaced) {
      if (out.length() > 0 && !out.toString().endsWith("\n\n")) {
        out.append('\n');
      }
      replacement.forEach(line -> out.append(line).append('\n'));
    }
    writeAtomically(absolute, out.toString().getBytes(StandardCharsets.UTF_8));
  }

  private static List<String> profileLines(Profile profile) {
    List<String> lines = new ArrayList<>();
    lines.add("[" + profile.name() + "]");
    lines.add(KEY_ID + " = " + profile.credentials().accessKeyId());
    lines.add(KEY_SECRET + " = " + profile.credentials().accessKeySecret());
    profile.endpoint().ifPresent(endpoint -> lines.add(KEY_ENDPOINT + " = " + endpoint.format()));
    if (!profile.region().equals(DEFAULT_REGION)) {
      lines.add(KEY_REGION + " = " + profile.region());
    }
    profile.tls().ifPresent(tls -> {
      lines.add(KEY_CA_FILE + " = " + tls.trustedCaFile().orElseThrow());
      tls.certChainFile().ifPresent(file -> lines.add(KEY_CERT_FILE + " = " + file));
      tls.keyFile().ifPresent(file -> lines.add(KEY_KEY_FILE + " = " + file));
    });
    return lines;
  }

  private static void checkProfileName(String name) {
    if (name == null || !PROFILE_NAME.matcher(name).matches()) {
      throw new IllegalArgumentException("profile name \"" + name + "\" must be 1 to "
          + PROFILE_NAME_LENGTH_MAX + " letters, digits, '.', '_' or '-'");
    }
  }

  private static void checkPermissions(Path file) throws IOException {
    Set<PosixFilePermission> permissions;
    try {
      permissions = Files.getPosixFilePermissions(file);
    } catch (UnsupportedOperationException e) {
      throw new IOException("cannot check the permissions of credentials file " + file
          + ": its file system has no POSIX permissions", e);
    }
    if (!FILE_PERMISSIONS.containsAll(permissions)) {
      throw new IOException("credentials file " + file + " has mode "
          + PosixFilePermissions.toString(permissions)
          + "; it holds secrets and must be accessible to its owner only (chmod 600)");
    }
  }

  private static List<String> readLines(Path file) throws IOException {
    if (Files.size(file) > FILE_BYTES_MAX) {
      throw new IOException("credentials file " + file + " is larger than " + FILE_BYTES_MAX
          + " bytes; it is not a credentials file");
    }
    return Files.readAllLines(file, StandardCharsets.UTF_8);
  }

  /**
   * The file as sections: the lines before the first profile (name {@code null}), then each
   * profile with its header, its lines and the comments and blank lines that follow it.
   */
  private static List<Section> parse(Path file, List<String> lines) throws IOException {
    List<Section> sections = new ArrayList<>();
    Section current = new Section(null, 0);
    sections.add(current);
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i);
      String trimmed = line.strip();
      int number = i + 1;
      if (trimmed.startsWith("[")) {
        if (!trimmed.endsWith("]")) {
          throw malformed(file, number, "a profile header must be [name]");
        }
        String name = trimmed.substring(1, trimmed.length() - 1).strip();
        try {
          checkProfileName(name);
        } catch (IllegalArgumentException e) {
          throw malformed(file, number, e.getMessage());
        }
        for (Section earlier : sections) {
          if (name.equals(earlier.name)) {
            throw malformed(file, number, "profile [" + name + "] appears twice");
          }
        }
        current = new Section(name, number);
        sections.add(current);
      } else if (!trimmed.isEmpty() && !trimmed.startsWith("#") && !trimmed.startsWith(";")) {
        int equals = trimmed.indexOf('=');
        if (equals <= 0) {
          throw malformed(file, number, "expected key = value");
        }
        if (current.name == null) {
          throw malformed(file, number, "a key = value line must follow a [profile] header");
        }
        String key = trimmed.substring(0, equals).strip();
        if (current.values.putIfAbsent(key, trimmed.substring(equals + 1).strip()) != null) {
          throw malformed(file, number, key + " appears twice in profile [" + current.name + "]");
        }
        current.lastContentLine = current.lines.size();
      }
      current.lines.add(line);
    }
    return sections;
  }

  private static IOException malformed(Path file, int line, String problem) {
    return new IOException("credentials file " + file + ", line " + line + ": " + problem);
  }

  private static void writeAtomically(Path file, byte[] content) throws IOException {
    Path temporary = Files.createTempFile(file.getParent(), "." + file.getFileName(), ".tmp",
        PosixFilePermissions.asFileAttribute(FILE_PERMISSIONS));
    try {
      try (FileChannel channel = FileChannel.open(temporary, StandardOpenOption.WRITE)) {
        ByteBuffer buffer = ByteBuffer.wrap(content);
        while (buffer.hasRemaining()) {
          channel.write(buffer);
        }
        channel.force(true);
      }
      try {
        Files.move(temporary, file, StandardCopyOption.ATOMIC_MOVE,
            StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(temporary, file, StandardCopyOption.REPLACE_EXISTING);
      }
    } finally {
      Files.deleteIfExists(temporary);
    }
  }

  /** Lines of the file that belong together; {@code name} is null for those before any profile. */
  private static final class Section {
    final String name;
    final int headerLine;
    final List<String> lines = new ArrayList<>();
    final Map<String, String> values = new LinkedHashMap<>();
    /** Index in {@link #lines} of the header or the last key = value line. */
    int lastContentLine;

    Section(String name, int headerLine) {
      this.name = name;
      this.headerLine = headerLine;
    }

    Profile toProfile(Path file) throws IOException {
      String id = values.get(KEY_ID);
      String secret = values.get(KEY_SECRET);
      if (id == null || secret == null) {
        throw malformed(file, headerLine,
            "profile [" + name + "] needs both " + KEY_ID + " and " + KEY_SECRET);
      }
      AccessKeyCredentials credentials;
      Optional<HostPort> endpoint = Optional.empty();
      Optional<TlsMaterial> tls = Optional.empty();
      String region = values.getOrDefault(KEY_REGION, DEFAULT_REGION);
      try {
        ServiceScope.checkName(KEY_REGION, region);
        credentials = new AccessKeyCredentials(id, secret);
        String endpointText = values.get(KEY_ENDPOINT);
        if (endpointText != null) {
          endpoint = Optional.of(HostPort.parse(endpointText));
        }
        String caFile = values.get(KEY_CA_FILE);
        String certFile = values.get(KEY_CERT_FILE);
        String keyFile = values.get(KEY_KEY_FILE);
        if (caFile != null) {
          tls = Optional.of(TlsMaterial.of(certFile == null ? null : Path.of(certFile),
              keyFile == null ? null : Path.of(keyFile), Path.of(caFile)));
        } else if (certFile != null || keyFile != null) {
          throw new IllegalArgumentException(KEY_CERT_FILE + " and " + KEY_KEY_FILE + " need "
              + KEY_CA_FILE);
        }
      } catch (IllegalArgumentException e) {
        // The exception's message never holds the secret: AccessKeyCredentials does not echo it.
        throw malformed(file, headerLine, "profile [" + name + "]: " + e.getMessage());
      }
      return new Profile(name, credentials, endpoint, tls, region);
    }
  }
}
