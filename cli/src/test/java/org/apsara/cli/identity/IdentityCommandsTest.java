package org.apsara.cli.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.apsara.cli.Apsara;
import org.apsara.common.net.HostPort;
import org.apsara.nuwa.server.NuwaConfig;
import org.apsara.nuwa.server.NuwaServer;
import org.apsara.tenant.api.CredentialsFile;
import org.apsara.tenant.server.TenantConfig;
import org.apsara.tenant.server.TenantServer;
import org.apsara.testkit.Ports;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The identity commands as an operator runs them: in-process through {@link Apsara#commandLine()},
 * against a real identity server over a real one-member Nuwa, signing with profiles of a credentials
 * file of the test's own.
 */
class IdentityCommandsTest {
  private static final String[] IDENTITY_COMMANDS =
      {"tenant", "user", "group", "key", "policy", "whoami"};
  private static final AtomicInteger NAMES = new AtomicInteger();
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir static Path dir;

  private static NuwaServer nuwa;
  private static TenantServer server;
  private static Path credentials;

  /** What one command did. */
  record Run(int exitCode, String out, String err) {}

  @BeforeAll
  static void start() throws Exception {
    nuwa = NuwaServer.start(NuwaConfig.builder()
        .memberId("n1")
        .peer("n1", HostPort.of("127.0.0.1", Ports.freePort()))
        .dataDir(dir.resolve("nuwa"))
        .clientPort(Ports.freePort())
        .electionTimeoutMin(Duration.ofMillis(300))
        .build());
    await().atMost(Duration.ofSeconds(30))
        .until(() -> nuwa.stateMachine().isLeaderReady() && nuwa.raft().isLeader());
    credentials = dir.resolve("home/.apsara/credentials");
    server = TenantServer.start(TenantConfig.builder()
        .nuwaEndpoints(List.of(nuwa.clientEndpoint()))
        .port(0)
        .masterKeyFile(dir.resolve("keys/master.key"))
        .bootstrapCredentialsFile(credentials)
        .build());
  }

  @AfterAll
  static void stop() {
    if (server != null) {
      server.close();
    }
    if (nuwa != null) {
      nuwa.close();
    }
  }

  /** Runs {@code apsara ARGS --credentials <the test's file>}. */
  private static Run apsara(String... args) {
    List<String> all = new ArrayList<>(List.of(args));
    all.add("--credentials");
    all.add(credentials.toString());
    return run(all.toArray(String[]::new));
  }

  /** Runs {@code apsara ARGS} exactly. */
  private static Run run(String... args) {
    CommandLine commandLine = Apsara.commandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    commandLine.setOut(new PrintWriter(out, true));
    commandLine.setErr(new PrintWriter(err, true));
    int exitCode = commandLine.execute(args);
    return new Run(exitCode, out.toString(), err.toString());
  }

  private static Run succeeds(String... args) {
    Run run = apsara(args);
    assertThat(run.exitCode()).as("apsara %s: %s", String.join(" ", args), run.err()).isZero();
    return run;
  }

  private static Run fails(String... args) {
    Run run = apsara(args);
    assertThat(run.exitCode()).as("apsara %s: %s", String.join(" ", args), run.out()).isEqualTo(1);
    return run;
  }

  private static String uniqueName(String prefix) {
    return prefix + "-" + NAMES.incrementAndGet();
  }

  /** The value of {@code key: value} lines. */
  private static String field(String text, String key) {
    return text.lines().filter(line -> line.startsWith(key + ":"))
        .map(line -> line.substring(key.length() + 1).strip())
        .findFirst().orElseThrow(() -> new AssertionError("no " + key + " in:\n" + text));
  }

  /** Creates a tenant and a user in it with a saved profile named like the user. */
  private static String userWithProfile(String tenant, String user) {
    succeeds("tenant", "create", tenant, "--display-name", "Tenant " + tenant);
    succeeds("user", "create", user, "--tenant", tenant, "--display-name", "User " + user);
    Run key = succeeds("key", "create", "--tenant", tenant, "--user", user, "--save-profile", user);
    return field(key.out(), "access_key_id");
  }

  @Test
  void whoamiWithTheBootstrapProfileIsTheSystemRoot() throws Exception {
    CredentialsFile.Profile bootstrap =
        CredentialsFile.read(credentials, CredentialsFile.DEFAULT_PROFILE).orElseThrow();

    Run run = succeeds("whoami");

    assertThat(field(run.out(), "tenant")).isEqualTo("system");
    assertThat(field(run.out(), "user_name")).isEqualTo("root");
    assertThat(field(run.out(), "arn")).isEqualTo("acs:ram::system:user/root");
    assertThat(field(run.out(), "access_key_id"))
        .isEqualTo(bootstrap.credentials().accessKeyId());
    JsonNode json = JSON.readTree(succeeds("whoami", "-o", "json").out());
    assertThat(json.get("arn").asText()).isEqualTo("acs:ram::system:user/root");
  }

  @Test
  void aKeySavedAsAProfileSignsAsItsUserFromAFileOnlyItsOwnerCanRead() throws Exception {
    String tenant = uniqueName("acme");
    String user = uniqueName("alice");
    succeeds("tenant", "create", tenant);
    succeeds("user", "create", user, "--tenant", tenant);

    Run created =
        succeeds("key", "create", "--tenant", tenant, "--user", user, "--save-profile", user);

    CredentialsFile.Profile saved = CredentialsFile.read(credentials, user).orElseThrow();
    assertThat(field(created.out(), "access_key_id")).isEqualTo(saved.credentials().accessKeyId());
    assertThat(field(created.out(), "access_key_secret"))
        .isEqualTo(saved.credentials().accessKeySecret());
    assertThat(created.err()).contains("cannot be shown again").contains("--profile " + user);
    assertThat(saved.endpoint()).contains(server.address());
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(credentials)))
        .isEqualTo("rw-------");
    // The bootstrap profile is still there, unchanged.
    assertThat(CredentialsFile.readAll(credentials)).containsKey(CredentialsFile.DEFAULT_PROFILE);

    Run whoami = succeeds("whoami", "--profile", user);
    assertThat(field(whoami.out(), "arn")).isEqualTo("acs:ram::" + tenant + ":user/" + user);
    assertThat(field(whoami.out(), "access_key_id")).isEqualTo(saved.credentials().accessKeyId());

    // A second key is not saved over the first profile, and is not even created.
    Run again =
        fails("key", "create", "--tenant", tenant, "--user", user, "--save-profile", user);
    assertThat(again.err()).contains("profile [" + user + "] already exists")
        .contains("--overwrite");
    JsonNode keys = JSON.readTree(
        succeeds("key", "list", "--tenant", tenant, "--user", user, "-o", "json").out());
    assertThat(keys).hasSize(1);
    assertThat(keys.get(0).get("access_key_id").asText())
        .isEqualTo(saved.credentials().accessKeyId());
    assertThat(keys.get(0).get("status").asText()).isEqualTo("Active");

    // Without --save-profile the secret is only printed, with a warning.
    Run unsaved = succeeds("key", "create", "--tenant", tenant, "--user", user, "-o", "json");
    JsonNode second = JSON.readTree(unsaved.out());
    assertThat(second.get("access_key_secret").asText()).isNotEmpty();
    assertThat(unsaved.err()).startsWith("Warning: ").contains("cannot be shown again");
    assertThat(CredentialsFile.readAll(credentials).values())
        .noneMatch(profile -> profile.credentials().accessKeyId()
            .equals(second.get("access_key_id").asText()));
    assertThat(succeeds("key", "list", "--tenant", tenant, "--user", user).out())
        .contains(second.get("access_key_id").asText());
  }

  @Test
  void aUserMayCreateUsersOnlyOnceAnAttachedPolicyAllowsIt() throws Exception {
    String tenant = uniqueName("acme");
    String alice = uniqueName("alice");
    String bob = uniqueName("bob");
    userWithProfile(tenant, alice);

    Run denied = fails("user", "create", bob, "--profile", alice);
    assertThat(denied.err().strip()).isEqualTo("apsara: PERMISSION_DENIED: acs:ram::" + tenant
        + ":user/" + alice + " is not allowed to perform ram:CreateUser on acs:ram::" + tenant
        + ":user/" + bob + ": no policy allows it");
    assertThat(denied.out()).isEmpty();

    Path document = dir.resolve(uniqueName("create-users") + ".json");
    Files.writeString(document, "{\"Version\": \"1\", \"Statement\": [{\"Effect\": \"Allow\","
        + " \"Action\": \"ram:CreateUser\", \"Resource\": \"acs:ram::" + tenant + ":user/*\"}]}");
    Run policy = succeeds("policy", "create", "CreateUsers", "--tenant", tenant,
        "--document", document.toString(), "--description", "May create users");
    assertThat(field(policy.out(), "name")).isEqualTo("CreateUsers");
    assertThat(field(policy.out(), "tenant")).isEqualTo(tenant);
    assertThat(succeeds("policy", "attach", "CreateUsers", "--user", alice, "--tenant", tenant)
        .out()).isEqualTo("attached policy CreateUsers to user " + alice + "\n");

    Run allowed = succeeds("user", "create", bob, "--profile", alice);
    assertThat(field(allowed.out(), "arn")).isEqualTo("acs:ram::" + tenant + ":user/" + bob);

    // The document reads back as JSON with the statement given.
    JsonNode read = JSON.readTree(succeeds("policy", "get", "CreateUsers", "--tenant", tenant)
        .out());
    assertThat(read.get("Statement").get(0).get("Effect").asText()).isEqualTo("Allow");
    assertThat(read.get("Statement").get(0).get("Action").toString()).contains("ram:CreateUser");
    JsonNode full = JSON.readTree(
        succeeds("policy", "get", "CreateUsers", "--tenant", tenant, "-o", "json").out());
    assertThat(full.get("description").asText()).isEqualTo("May create users");
    assertThat(full.get("document")).isEqualTo(read);

    Run attached = succeeds("policy", "list", "--user", alice, "--tenant", tenant);
    assertThat(attached.out().lines().toList()).hasSize(2);
    assertThat(attached.out().lines().skip(1).findFirst().orElseThrow().split("\\s+"))
        .startsWith("CreateUsers", tenant);
    assertThat(fails("policy", "delete", "CreateUsers", "--tenant", tenant).err())
        .startsWith("apsara: FAILED_PRECONDITION: ");
    succeeds("policy", "detach", "CreateUsers", "--user", alice, "--tenant", tenant);
    assertThat(fails("user", "create", uniqueName("carol"), "--profile", alice).err())
        .startsWith("apsara: PERMISSION_DENIED: ");
    succeeds("policy", "delete", "CreateUsers", "--tenant", tenant);
    assertThat(fails("policy", "get", "CreateUsers", "--tenant", tenant).err())
        .startsWith("apsara: NOT_FOUND: ");
  }

  @Test
  void aPolicyAttachedToAGroupAppliesToItsMembersOnly() throws Exception {
    String tenant = uniqueName("acme");
    String alice = uniqueName("alice");
    String group = uniqueName("readers");
    userWithProfile(tenant, alice);
    succeeds("user", "create", uniqueName("dave"), "--tenant", tenant);
    assertThat(fails("user", "list", "--profile", alice).err())
        .startsWith("apsara: PERMISSION_DENIED: ");

    String document = "{\"Version\": \"1\", \"Statement\": [{\"Effect\": \"Allow\","
        + " \"Action\": [\"ram:ListUsers\", \"ram:GetUser\"], \"Resource\": \"*\"}]}";
    InputStream stdin = System.in;
    try {
      System.setIn(new ByteArrayInputStream(document.getBytes(StandardCharsets.UTF_8)));
      succeeds("policy", "create", "ReadUsers", "--tenant", tenant, "--document", "-");
    } finally {
      System.setIn(stdin);
    }
    succeeds("group", "create", group, "--tenant", tenant, "--description", "Who may read users");
    succeeds("policy", "attach", "ReadUsers", "--group", group, "--tenant", tenant);
    succeeds("group", "add-user", group, alice, "--tenant", tenant);

    Run users = succeeds("user", "list", "--profile", alice);
    List<String> lines = users.out().lines().toList();
    assertThat(lines.get(0).split("\\s+"))
        .containsExactly("NAME", "TENANT", "CREATE_TIME", "DISPLAY_NAME");
    assertThat(lines).hasSize(4); // root, alice, dave
    int timeColumn = lines.get(0).indexOf("CREATE_TIME");
    assertThat(lines).allSatisfy(line -> assertThat(line.charAt(timeColumn - 1)).isEqualTo(' '));
    assertThat(lines.subList(1, lines.size()))
        .allSatisfy(line -> assertThat(line.substring(timeColumn)).matches("\\d{4}-.*"));
    assertThat(lines).anySatisfy(line -> assertThat(line).endsWith("  -")); // no display name
    JsonNode members = JSON.readTree(
        succeeds("user", "list", "--group", group, "--tenant", tenant, "-o", "json").out());
    assertThat(members).hasSize(1);
    assertThat(members.get(0).get("name").asText()).isEqualTo(alice);
    assertThat(succeeds("group", "list", "--user", alice, "--tenant", tenant).out())
        .contains(group).contains("Who may read users");
    assertThat(succeeds("policy", "list", "--group", group, "--tenant", tenant).out())
        .contains("ReadUsers");

    assertThat(fails("group", "delete", group, "--tenant", tenant).err())
        .startsWith("apsara: FAILED_PRECONDITION: ");
    succeeds("group", "remove-user", group, alice, "--tenant", tenant);
    assertThat(fails("user", "list", "--profile", alice).err())
        .startsWith("apsara: PERMISSION_DENIED: ");
    assertThat(succeeds("group", "delete", group, "--tenant", tenant).out())
        .isEqualTo("deleted group " + group + "\n");
  }

  @Test
  void aDisabledKeyIsRejectedAsInactiveUntilEnabledAgain() throws Exception {
    String tenant = uniqueName("acme");
    String user = uniqueName("svc");
    String keyId = userWithProfile(tenant, user);

    Run disabled = succeeds("key", "disable", keyId, "--tenant", tenant, "--user", user);
    assertThat(field(disabled.out(), "status")).isEqualTo("Inactive");

    Run rejected = fails("whoami", "--profile", user);
    assertThat(rejected.err()).startsWith(
        "apsara: UNAUTHENTICATED (InvalidAccessKeyId.Inactive): ");
    assertThat(rejected.err()).contains("profile [" + user + "]");
    assertThat(rejected.err().lines().count()).isEqualTo(1);

    succeeds("key", "enable", keyId, "--tenant", tenant, "--user", user);
    assertThat(field(succeeds("whoami", "--profile", user).out(), "user_name")).isEqualTo(user);

    assertThat(succeeds("key", "delete", keyId, "--tenant", tenant, "--user", user).out())
        .isEqualTo("deleted AccessKey " + keyId + "\n");
    assertThat(fails("whoami", "--profile", user).err())
        .startsWith("apsara: UNAUTHENTICATED (InvalidAccessKeyId.NotFound): ");
    assertThat(succeeds("key", "list", "--tenant", tenant, "--user", user).out().strip())
        .isEqualTo("ACCESS_KEY_ID  TENANT  USER_NAME  STATUS  CREATE_TIME");
  }

  @Test
  void tenantsAreCreatedListedAndDeleted() throws Exception {
    String tenant = uniqueName("beta");

    Run created = succeeds("tenant", "create", tenant, "--display-name", "Beta Corp");
    assertThat(field(created.out(), "name")).isEqualTo(tenant);
    assertThat(field(created.out(), "display_name")).isEqualTo("Beta Corp");
    assertThat(created.err()).contains("apsara key create --tenant " + tenant + " --user root");

    assertThat(succeeds("tenant", "list").out().lines().skip(1).map(line -> line.split("\\s+")[0]))
        .contains("system", tenant);
    JsonNode json = JSON.readTree(succeeds("tenant", "get", tenant, "-o", "json").out());
    assertThat(json.get("name").asText()).isEqualTo(tenant);
    assertThat(json.get("display_name").asText()).isEqualTo("Beta Corp");
    assertThat(Instant.parse(json.get("create_time").asText())).isBefore(Instant.now().plusSeconds(60));
    assertThat(field(succeeds("tenant", "get").out(), "name")).isEqualTo("system");

    assertThat(succeeds("tenant", "delete", tenant).out()).isEqualTo("deleted tenant " + tenant + "\n");
    assertThat(fails("tenant", "get", tenant).err()).startsWith("apsara: NOT_FOUND: ");
    assertThat(fails("tenant", "create", "Not_A_Name").err())
        .startsWith("apsara: INVALID_ARGUMENT: ");
  }

  @Test
  void aMissingProfileOrCredentialsFileSaysHowToGetOne() {
    Run noProfile = fails("whoami", "--profile", "nobody");
    assertThat(noProfile.err()).contains("credentials file " + credentials
        + " has no profile [nobody] (it has: default")
        .contains("apsara key create --user USER --save-profile nobody");

    Path missing = dir.resolve("nowhere/credentials");
    Run noFile = run("whoami", "--credentials", missing.toString());
    assertThat(noFile.exitCode()).isEqualTo(1);
    assertThat(noFile.err()).startsWith("apsara: no credentials file at " + missing)
        .contains("./apsara up").contains("--save-profile");
  }

  @Test
  void anUnreachableEndpointIsNamed() {
    String endpoint = "127.0.0.1:" + Ports.freePort();

    Run run = fails("whoami", "--endpoint", endpoint, "--timeout", "5s");

    assertThat(run.err()).startsWith(
        "apsara: UNAVAILABLE: cannot reach the identity service at " + endpoint + " (");
  }

  @Test
  void badOptionsAreUsageErrors() {
    assertThat(apsara("whoami", "--timeout", "soon").exitCode()).isEqualTo(2);
    assertThat(apsara("whoami", "-o", "yaml").err()).contains("use text or json");
    assertThat(apsara("policy", "attach", "P").err()).contains("--user").contains("--group");
    assertThat(apsara("policy", "attach", "P", "--user", "a", "--group", "g").exitCode())
        .isEqualTo(2);
    Run noDocument = apsara("policy", "create", "P", "--document",
        dir.resolve("missing.json").toString());
    assertThat(noDocument.exitCode()).isEqualTo(1);
    assertThat(noDocument.err()).startsWith("apsara: --document: no file ");
  }

  @Test
  void theConnectionDefaultsComeFromTheEnvironmentOrTheHomeDirectory() {
    WhoamiCommand whoami = new WhoamiCommand();
    new CommandLine(whoami).parseArgs();

    String file = System.getenv(IdentityConnection.CREDENTIALS_FILE_ENV);
    String profile = System.getenv(IdentityConnection.PROFILE_ENV);
    assertThat(whoami.connection.credentialsFile())
        .isEqualTo(file == null ? CredentialsFile.defaultPath() : Path.of(file));
    assertThat(whoami.connection.profileName())
        .isEqualTo(profile == null ? CredentialsFile.DEFAULT_PROFILE : profile);
    assertThat(whoami.connection.timeout()).isEqualTo(Duration.ofSeconds(10));
    assertThat(whoami.connection.endpoint).isNull();

    new CommandLine(whoami).parseArgs("--endpoint", "10.0.0.5");
    assertThat(whoami.connection.endpoint).isEqualTo(HostPort.of("10.0.0.5", 7070));
  }

  @Test
  void everyIdentityCommandHasHelpAndADescription() {
    List<List<String>> paths = new ArrayList<>();
    CommandLine root = Apsara.commandLine();
    for (String name : IDENTITY_COMMANDS) {
      collect(root.getSubcommands().get(name), new ArrayList<>(List.of(name)), paths);
    }
    assertThat(paths).hasSizeGreaterThan(IDENTITY_COMMANDS.length + 20);
    // A group of commands run alone shows its subcommands.
    Run group = run("policy");
    assertThat(group.exitCode()).isZero();
    assertThat(group.out()).startsWith("Usage: apsara policy").contains("attach").contains("detach");
    for (List<String> path : paths) {
      List<String> args = new ArrayList<>(path);
      args.add("--help");
      Run help = run(args.toArray(String[]::new));
      assertThat(help.exitCode()).as("%s --help", path).isZero();
      assertThat(help.out()).as("%s --help", path)
          .startsWith("Usage: apsara " + String.join(" ", path));
    }
  }

  private static void collect(CommandLine command, List<String> path, List<List<String>> paths) {
    assertThat(command).as("command %s", path).isNotNull();
    assertThat(command.getCommandSpec().usageMessage().description())
        .as("description of %s", path).isNotEmpty();
    paths.add(List.copyOf(path));
    command.getSubcommands().forEach((name, sub) -> {
      List<String> subPath = new ArrayList<>(path);
      subPath.add(name);
      collect(sub, subPath, paths);
    });
  }
}
