package org.apsara.nuwa.client.recipes;

import com.google.protobuf.ByteString;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apsara.common.json.JsonReader;
import org.apsara.common.json.JsonStrings;

/**
 * The value stored for a registered instance: a small JSON object, readable with {@code etcdctl
 * get} and by any language's JSON parser:
 *
 * <pre>{"address":"10.0.0.7:8080","metadata":{"version":"1.4","zone":"a"}}</pre>
 *
 * <p>The service and instance ID are not repeated in the value: they are the key. A reader ignores
 * members it does not know, so that later versions can add some.
 */
final class ServiceInstanceCodec {
  /** Largest value accepted when decoding; registrations are small. */
  static final int MAX_VALUE_BYTES = 64 * 1024;

  private ServiceInstanceCodec() {}

  static ByteString encode(ServiceInstance instance) {
    StringBuilder out = new StringBuilder();
    out.append("{\"address\":");
    JsonStrings.appendQuoted(out, instance.address());
    out.append(",\"metadata\":{");
    boolean first = true;
    for (Map.Entry<String, String> e : instance.metadata().entrySet()) {
      if (!first) {
        out.append(',');
      }
      first = false;
      JsonStrings.appendQuoted(out, e.getKey());
      out.append(':');
      JsonStrings.appendQuoted(out, e.getValue());
    }
    out.append("}}");
    return ByteString.copyFromUtf8(out.toString());
  }

  /** Decodes a value; throws {@link IllegalArgumentException} if it is not in this format. */
  static ServiceInstance decode(String service, String instanceId, ByteString value) {
    if (value.size() > MAX_VALUE_BYTES) {
      throw new IllegalArgumentException(
          "registration value too large: " + value.size() + " bytes");
    }
    Map<String, Object> object;
    try {
      object = JsonReader.parseObject(value.toStringUtf8());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("bad registration value: " + e.getMessage(), e);
    }
    if (!(object.get("address") instanceof String address)) {
      throw new IllegalArgumentException("registration has no address");
    }
    Map<String, String> metadata = new LinkedHashMap<>();
    Object rawMetadata = object.get("metadata");
    if (rawMetadata != null) {
      if (!(rawMetadata instanceof Map<?, ?> map)) {
        throw new IllegalArgumentException("metadata is not an object");
      }
      for (Map.Entry<?, ?> e : map.entrySet()) {
        if (!(e.getValue() instanceof String s)) {
          throw new IllegalArgumentException(
              "metadata value of " + e.getKey() + " is not a string");
        }
        metadata.put((String) e.getKey(), s);
      }
    }
    return new ServiceInstance(service, instanceId, address, metadata);
  }
}
