package org.apsara.pangu.master.namespace;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Key encodings of the column families. Numbers are big-endian so that the bytewise comparator
 * orders them numerically; names are raw UTF-8 behind a fixed-width id, so the children of one
 * directory are one contiguous range in name order.
 */
final class Keys {
  static final byte[] META = "meta".getBytes(StandardCharsets.US_ASCII);

  private Keys() {}

  static byte[] id(long id) {
    return ByteBuffer.allocate(8).putLong(id).array();
  }

  static long readId(byte[] key, int offset) {
    return ByteBuffer.wrap(key, offset, 8).getLong();
  }

  /** dentries: (parent id, name). */
  static byte[] dentry(long parentId, String name) {
    byte[] utf8 = name.getBytes(StandardCharsets.UTF_8);
    return ByteBuffer.allocate(8 + utf8.length).putLong(parentId).put(utf8).array();
  }

  static String dentryName(byte[] key) {
    return new String(key, 8, key.length - 8, StandardCharsets.UTF_8);
  }

  /** The first key after every dentry of {@code parentId}: the upper bound of a listing. */
  static byte[] dentryUpperBound(long parentId) {
    return id(parentId + 1);
  }

  /** chunks: (file id, chunk index). */
  static byte[] chunk(long fileId, int index) {
    return ByteBuffer.allocate(12).putLong(fileId).putInt(index).array();
  }

  static int chunkIndex(byte[] key) {
    return ByteBuffer.wrap(key, 8, 4).getInt();
  }

  /** leases: (holder, NUL, file id). Holder names never contain NUL. */
  static byte[] lease(String holder, long fileId) {
    byte[] utf8 = holder.getBytes(StandardCharsets.UTF_8);
    return ByteBuffer.allocate(utf8.length + 9).put(utf8).put((byte) 0).putLong(fileId).array();
  }

  /** The prefix of every lease key of {@code holder}. */
  static byte[] leasePrefix(String holder) {
    byte[] utf8 = holder.getBytes(StandardCharsets.UTF_8);
    return ByteBuffer.allocate(utf8.length + 1).put(utf8).put((byte) 0).array();
  }

  /** The first key after every lease key of {@code holder}. */
  static byte[] leaseUpperBound(String holder) {
    byte[] utf8 = holder.getBytes(StandardCharsets.UTF_8);
    return ByteBuffer.allocate(utf8.length + 1).put(utf8).put((byte) 1).array();
  }

  static String leaseHolder(byte[] key) {
    return new String(key, 0, key.length - 9, StandardCharsets.UTF_8);
  }

  static long leaseFileId(byte[] key) {
    return readId(key, key.length - 8);
  }
}
