package org.apsara.nuwa.server.mvcc;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.KeyValue;
import java.util.function.Predicate;

/** The live key-values of the store as of one revision; deleted keys are absent. */
interface KvReader {
  /** The live version of {@code key}, or {@code null} if the key does not exist. */
  KeyValue get(ByteString key);

  /**
   * Visits the live versions of the keys in {@code range} in key order, until {@code visitor}
   * returns {@code false}.
   */
  void scan(KeyRange range, Predicate<KeyValue> visitor);
}
