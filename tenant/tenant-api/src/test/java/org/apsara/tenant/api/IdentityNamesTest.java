package org.apsara.tenant.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class IdentityNamesTest {
  @Test
  void validNamesPass() {
    assertThatCode(() -> {
      IdentityNames.checkTenantName("acme-01_x");
      IdentityNames.checkUserName("alice.smith");
      IdentityNames.checkGroupName("devs");
      IdentityNames.checkPolicyName("AdministratorAccess");
      IdentityNames.checkTenantName("a".repeat(IdentityNames.NAME_LENGTH_MAX));
    }).doesNotThrowAnyException();
    assertThat(IdentityNames.isTenantName(IdentityNames.SYSTEM_TENANT)).isTrue();
  }

  @Test
  void eachProblemIsNamed() {
    assertThatThrownBy(() -> IdentityNames.checkTenantName(""))
        .hasMessage("a tenant name is required");
    assertThatThrownBy(() -> IdentityNames.checkTenantName("a.b"))
        .hasMessage("tenant name \"a.b\" has '.' at position 2; a tenant name is made of"
            + " lower-case letters, digits, '_' and '-'");
    assertThatThrownBy(() -> IdentityNames.checkUserName("-alice"))
        .hasMessageEndingWith(", and starts with a letter or digit");
    assertThatThrownBy(() -> IdentityNames.checkUserName("Alice"))
        .hasMessageStartingWith("user name \"Alice\" has 'A' at position 1");
    assertThatThrownBy(() -> IdentityNames.checkGroupName("a b"))
        .hasMessageStartingWith("group name \"a b\" has '\\u0020' at position 2");
    assertThatThrownBy(() -> IdentityNames.checkPolicyName("x".repeat(65)))
        .hasMessageContaining("has 65 characters; at most 64 are allowed");
    assertThatThrownBy(() -> IdentityNames.checkPolicyName("Read*"))
        .hasMessageContaining("has '*' at position 5");
    assertThatThrownBy(() -> IdentityNames.checkDescription("x".repeat(1025)))
        .hasMessage("the description has 1025 characters; at most 1024 are allowed");
    assertThat(IdentityNames.isTenantName("Acme")).isFalse();
  }
}
