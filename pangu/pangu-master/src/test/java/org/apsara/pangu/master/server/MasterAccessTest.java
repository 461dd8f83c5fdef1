package org.apsara.pangu.master.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Context;
import io.grpc.StatusRuntimeException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import org.apsara.security.audit.InMemoryAuditSink;
import org.apsara.security.grpc.Authorization;
import org.apsara.security.grpc.AuthorizationDecision;
import org.apsara.security.grpc.SecurityContext;
import org.apsara.security.sign.Principal;
import org.junit.jupiter.api.Test;

/** Which resource each path is, and what a signed caller's requests are checked against. */
class MasterAccessTest {
  private static final Principal ALICE = new Principal("acme", "alice", "LTAI5tQ3wJx9Bz2Kd7Lm1Np8");

  private final List<String> asked = new ArrayList<>();
  private final MasterAccess access = MasterAccess.authenticated(new Authorization(
      (principal, action, resource, context) -> {
        asked.add(action + " " + resource);
        return resource.contains(":acme:file/app")
            ? AuthorizationDecision.allow("test policy")
            : AuthorizationDecision.deny("no statement allows it");
      }, new InMemoryAuditSink(), Clock.systemUTC()), "hangzhou");

  @Test
  void aPathUnderTenantsIsThatTenantsAndEveryOtherPathTheClusters() {
    assertThat(access.fileResource("/tenants/acme/app/x"))
        .isEqualTo("acs:pangu:hangzhou:acme:file/app/x");
    assertThat(access.fileResource("/tenants/acme")).isEqualTo("acs:pangu:hangzhou:acme:file/");
    assertThat(access.fileResource("/data/x")).isEqualTo("acs:pangu:hangzhou:system:file/data/x");
    assertThat(access.fileResource("/")).isEqualTo("acs:pangu:hangzhou:system:file/");
    assertThat(access.fileResource("/tenants")).isEqualTo("acs:pangu:hangzhou:system:file/tenants");
    // Not a tenant's name, or the system tenant's: the full path, as the cluster's.
    assertThat(access.fileResource("/tenants/a:b/x"))
        .isEqualTo("acs:pangu:hangzhou:system:file/tenants/a:b/x");
    assertThat(access.fileResource("/tenants/system/x"))
        .isEqualTo("acs:pangu:hangzhou:system:file/tenants/system/x");
  }

  @Test
  void aSignedCallerIsCheckedAndOwnsWhatItCreatesUnderItsTenant() throws Exception {
    Context.current().withValue(SecurityContext.PRINCIPAL, ALICE).call(() -> {
      access.write("/tenants/acme/app/report");
      assertThatThrownBy(() -> access.read("/tenants/acme/secret"))
          .isInstanceOf(StatusRuntimeException.class)
          .hasMessageContaining("PERMISSION_DENIED")
          .hasMessageContaining("pangu:Read on acs:pangu:hangzhou:acme:file/secret");
      assertThatThrownBy(() -> access.operate(MasterAccess.SET_QUOTA, "/tenants/acme/app"))
          .hasMessageContaining("pangu:SetQuota on acs:pangu:hangzhou:system:file/tenants/acme/app");
      assertThat(access.caller()).isEqualTo(
          new Caller("alice", "acme", "acs:ram::acme:user/alice"));
      assertThat(access.leaseHolder("client-1")).isEqualTo("acme/alice/client-1");
      assertThatThrownBy(() -> access.leaseHolder("c".repeat(250)))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("more than the most, 255");
      return null;
    });
    assertThat(asked).containsExactly(
        "pangu:Write acs:pangu:hangzhou:acme:file/app/report",
        "pangu:Read acs:pangu:hangzhou:acme:file/secret",
        "pangu:SetQuota acs:pangu:hangzhou:system:file/tenants/acme/app");
  }

  @Test
  void withoutAuthenticationNothingIsCheckedAndEveryCallerIsTheDefault() {
    MasterAccess open = MasterAccess.unauthenticated("pangu", "supergroup");
    open.write("/anything");
    open.operate(MasterAccess.SET_QUOTA, "/anything");
    assertThat(open.caller().owner()).isEqualTo("pangu");
    assertThat(open.leaseHolder("client-1")).isEqualTo("client-1");
  }
}
