package org.apsara.tenant.api;

import java.util.Objects;
import org.apsara.security.sign.AccessKeyCredentials;
import org.apsara.tenant.api.v1.AccessKey;

/**
 * A new AccessKey with its secret, as {@code CreateAccessKey} returns it: the only time the secret
 * can be read. Immutable; {@link #toString()} hides the secret.
 *
 * @param accessKey the key's id, owner, status and creation time
 * @param credentials the id and the secret, ready to sign requests with
 */
public record CreatedAccessKey(AccessKey accessKey, AccessKeyCredentials credentials) {
  public CreatedAccessKey {
    Objects.requireNonNull(accessKey, "accessKey");
    Objects.requireNonNull(credentials, "credentials");
    if (!accessKey.getAccessKeyId().equals(credentials.accessKeyId())) {
      throw new IllegalArgumentException("the credentials are of another AccessKey");
    }
  }

  @Override
  public String toString() {
    return "CreatedAccessKey[accessKeyId=" + accessKey.getAccessKeyId() + ", tenant="
        + accessKey.getTenant() + ", user=" + accessKey.getUserName() + ", secret=<hidden>]";
  }
}
