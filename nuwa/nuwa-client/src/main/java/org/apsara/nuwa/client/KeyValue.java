package org.apsara.nuwa.client;

import com.google.protobuf.ByteString;
import java.util.Objects;

/**
 * One version of a key, as stored. Immutable.
 *
 * @param key the key
 * @param value the value; empty when read with {@link GetOptions.Builder#keysOnly}
 * @param createRevision revision of the put that created the key (its current incarnation)
 * @param modRevision revision of the last put to the key
 * @param version number of puts to the key since it was created, starting at 1
 * @param lease lease the key is attached to, or {@code 0} for none
 */
public record KeyValue(
    ByteString key,
    ByteString value,
    long createRevision,
    long modRevision,
    long version,
    long lease) {
  public KeyValue {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(value, "value");
  }

  public String keyUtf8() {
    return key.toStringUtf8();
  }

  public String valueUtf8() {
    return value.toStringUtf8();
  }

  static KeyValue fromProto(io.etcd.jetcd.api.KeyValue kv) {
    return new KeyValue(
        kv.getKey(),
        kv.getValue(),
        kv.getCreateRevision(),
        kv.getModRevision(),
        kv.getVersion(),
        kv.getLease());
  }

  @Override
  public String toString() {
    return "KeyValue{key="
        + keyUtf8()
        + ", value="
        + (value.size() <= 64 ? valueUtf8() : value.size() + " bytes")
        + ", createRevision="
        + createRevision
        + ", modRevision="
        + modRevision
        + ", version="
        + version
        + ", lease="
        + lease
        + "}";
  }
}
