package org.apsara.tenant.server.store;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apsara.nuwa.client.KeyValue;
import org.apsara.nuwa.client.NuwaClient;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;

/** Assertions the store tests share. */
final class StoreTesting {
  private StoreTesting() {}

  /** Asserts that {@code call} fails with {@code code} and a description containing each part. */
  static void assertFails(Status.Code code, ThrowingCallable call, String... descriptionParts) {
    assertThatThrownBy(call)
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          org.assertj.core.api.Assertions.assertThat(e.getStatus().getCode())
              .as("status of %s", e.getStatus()).isEqualTo(code);
          org.assertj.core.api.Assertions.assertThat(e.getStatus().getDescription())
              .contains(descriptionParts);
        });
  }

  /** Every key under {@code prefix} with the revision it was last written at. */
  static Map<String, Long> rawState(NuwaClient client, String prefix) {
    Map<String, Long> state = new TreeMap<>();
    for (KeyValue kv : client.kv().getPrefix(prefix).kvs()) {
      state.put(kv.keyUtf8(), kv.modRevision());
    }
    return state;
  }

  /** Every key under {@code prefix}. */
  static List<String> rawKeys(NuwaClient client, String prefix) {
    return List.copyOf(rawState(client, prefix).keySet());
  }
}
