package org.apsara.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Optional;
import org.apsara.common.net.HostPort;
import org.apsara.security.sign.AccessKeyCredentials;
import org.apsara.tenant.api.CredentialsFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code apsara run fuxi-master} refuses to start unless told how to authenticate, and {@code
 * apsara fuxi} refuses a credentials file it was pointed at that lacks the profile: both before
 * anything is started or sent.
 */
class FuxiMasterFlagsTest {
  @TempDir Path dir;

  private CliRun.Result runMaster(String... extra) {
    String[] base = {"run", "fuxi-master", "--id", "f1", "--data", dir.resolve("f1").toString(),
        "--token-key-file", dir.resolve("token.keys").toString()};
    String[] all = new String[base.length + extra.length];
    System.arraycopy(base, 0, all, 0, base.length);
    System.arraycopy(extra, 0, all, base.length, extra.length);
    return CliRun.apsara(all);
  }

  @Test
  void theMasterNeedsCredentialsOrNoAuth() throws Exception {
    CliRun.Result neither = runMaster();
    assertThat(neither.exitCode()).isEqualTo(1);
    assertThat(neither.err()).contains("--credentials FILE").contains("--no-auth");

    Path credentials = dir.resolve("credentials");
    CredentialsFile.write(credentials, new CredentialsFile.Profile("fuxi",
        new AccessKeyCredentials("LTAItest0000000000000000", "test-secret-0000000000000000000"),
        Optional.of(HostPort.of("127.0.0.1", 7070))));
    CliRun.Result both = runMaster("--no-auth", "--credentials", credentials.toString());
    assertThat(both.exitCode()).isEqualTo(1);
    assertThat(both.err()).contains("contradict");

    CliRun.Result wrongProfile =
        runMaster("--credentials", credentials.toString(), "--profile", "nope");
    assertThat(wrongProfile.exitCode()).isEqualTo(1);
    assertThat(wrongProfile.err()).contains("has no profile [nope]");
  }

  @Test
  void theClientRefusesANamedFileWithoutTheProfile() throws Exception {
    CliRun.Result missing = CliRun.apsara("fuxi", "nodes", "--masters", "127.0.0.1:1",
        "--credentials", dir.resolve("absent").toString());
    assertThat(missing.exitCode()).isEqualTo(1);
    assertThat(missing.err()).contains("no credentials file at " + dir.resolve("absent"));
  }
}
