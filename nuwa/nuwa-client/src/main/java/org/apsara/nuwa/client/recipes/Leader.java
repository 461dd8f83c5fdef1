package org.apsara.nuwa.client.recipes;

import com.google.protobuf.ByteString;
import java.util.Objects;
import org.apsara.nuwa.client.KeyValue;

/**
 * The leader of an election as stored. Immutable.
 *
 * @param key the leader's candidacy key, {@code <election>/<lease ID in hex>}
 * @param value what the leader proclaimed
 * @param createRevision when the leader became a candidate; grows from one leader to the next
 * @param leaseId the lease of the leader's session
 */
public record Leader(ByteString key, ByteString value, long createRevision, long leaseId) {
  public Leader {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(value, "value");
  }

  public String valueUtf8() {
    return value.toStringUtf8();
  }

  static Leader of(KeyValue kv) {
    return new Leader(kv.key(), kv.value(), kv.createRevision(), kv.lease());
  }
}
