package org.apsara.nuwa.server.grpc;

import com.google.protobuf.ByteString;
import java.util.Comparator;

/** etcd's key-range convention: an empty end is one key, an end of "\0" means every key from start. */
record KeyRange(ByteString start, ByteString end) {
  private static final Comparator<ByteString> ORDER = ByteString.unsignedLexicographicalComparator();
  private static final ByteString ZERO = ByteString.copyFrom(new byte[] {0});

  boolean contains(ByteString key) {
    if (end.isEmpty()) {
      return key.equals(start);
    }
    if (ORDER.compare(key, start) < 0) {
      return false;
    }
    return end.equals(ZERO) || ORDER.compare(key, end) < 0;
  }
}
