package org.apsara.nuwa.client.recipes;

import com.google.protobuf.ByteString;
import java.util.Objects;

/** Key layout shared with etcd's Go {@code concurrency} package, so that etcdctl interoperates. */
final class RecipeKeys {
  private RecipeKeys() {}

  /** The prefix all contenders of {@code name} write under: the name and a slash. */
  static ByteString prefix(String name) {
    Objects.requireNonNull(name, "name");
    if (name.isEmpty()) {
      throw new IllegalArgumentException("name must not be empty");
    }
    return ByteString.copyFromUtf8(name + "/");
  }

  /**
   * A contender's key: the prefix and its lease ID in lower-case hex, as Go's {@code %x} prints it.
   */
  static ByteString contenderKey(ByteString prefix, long leaseId) {
    String hex = leaseId < 0 ? "-" + Long.toHexString(-leaseId) : Long.toHexString(leaseId);
    return prefix.concat(ByteString.copyFromUtf8(hex));
  }
}
