package org.apsara.tenant.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ResourceNameTest {
  @Test
  void identityResourcesAreNamedAsRamNamesThem() {
    assertThat(ResourceName.user("acme", "alice")).hasToString("acs:ram::acme:user/alice");
    assertThat(ResourceName.tenant("acme")).hasToString("acs:ram::acme:tenant");
    assertThat(ResourceName.allPolicies("acme")).hasToString("acs:ram::acme:policy/*");
  }

  @Test
  void parsingReadsBackWhatWasWrittenAndKeepsColonsOfTheRelativeId() {
    ResourceName name = ResourceName.parse("acs:nuwa:cn-test:acme:key/a:b");

    assertThat(name).isEqualTo(new ResourceName("nuwa", "cn-test", "acme", "key/a:b"));
    assertThat(ResourceName.parse(name.toString())).isEqualTo(name);
  }

  @Test
  void textThatIsNoResourceNameIsRefused() {
    assertThatThrownBy(() -> ResourceName.parse("arn:aws:s3:::bucket"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("is not a resource name");
    assertThatThrownBy(() -> ResourceName.parse("acs:ram::acme:"))
        .hasMessageContaining("relative id must not be empty");
  }
}
