package org.apsara.nuwa.server.mvcc;

import com.google.protobuf.ByteOutput;
import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import io.etcd.jetcd.api.KeyValue;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32C;
import java.util.zip.CheckedInputStream;
import java.util.zip.CheckedOutputStream;
import org.apsara.nuwa.api.NuwaLimits;

/**
 * The snapshot encoding of an {@link MvccStore}, version {@value #FORMAT_VERSION}. All integers
 * are big-endian; a byte string is its length (int) then its bytes; a key-value is key, value,
 * create revision, mod revision, version, lease.
 *
 * <pre>
 *   magic "NUWAMVCC" (long), format version (int)
 *   revision (long), compact revision (long)
 *   lease count (int), then per lease in ascending ID order: ID (long), granted TTL s (long)
 *   base count (int), then base versions in key order
 *   revision count (int), then per revision from max(2, compact revision) on:
 *       change count (int), then the changes in sub-revision order
 *   CRC32C of every byte before it (int)
 * </pre>
 *
 * The base versions are what compaction left below the first logged revision: at most one
 * live version per key. Everything else (every key's history, the event log, which keys each
 * lease holds) is rebuilt by replaying the logged revisions on them, so the snapshot holds no
 * state twice and a store read back writes the identical bytes again.
 *
 * <p>The reader consumes exactly the bytes the writer produced, so a snapshot can be embedded
 * in a larger stream; it reads the stream unbuffered, so hand it a buffered one.
 */
final class SnapshotFormat {
  static final long MAGIC = 0x4E5557414D564343L; // "NUWAMVCC"
  static final int FORMAT_VERSION = 1;
  /**
   * Largest key or value a snapshot may hold: no put larger than a request is accepted
   * ({@link RequestValidator#validatePut}), and the reader refuses to allocate more than this
   * for one field of a corrupt snapshot.
   */
  static final int MAX_FIELD_BYTES = NuwaLimits.MAX_REQUEST_BYTES;

  private SnapshotFormat() {}

  /**
   * What {@link Image#writeTo} needs, taken on the apply thread: the small parts copied (leases,
   * and the base versions, found by a walk over every key) and the event log referenced. Writes
   * may go on while the image is written: they append revisions after {@code revision} to the
   * log, which the image does not read, and a compaction replaces the log instead of changing it.
   */
  static Image capture(long revision, long compactRevision, LeaseTable leases, KeyIndex index,
      EventLog log) {
    List<long[]> leaseTtls = new ArrayList<>();
    for (LeaseTable.Lease lease : leases.all()) {
      leaseTtls.add(new long[] {lease.id, lease.ttlSeconds});
    }
    long firstLogged = log.firstRevision();
    List<KeyValue> base = new ArrayList<>();
    for (KeyHistory history : index.histories()) {
      KeyValue oldest = history.version(0);
      if (oldest.getModRevision() < firstLogged) {
        if (history.size() > 1 && history.version(1).getModRevision() < firstLogged) {
          // Compaction leaves at most one version below the log; more would be lost here.
          throw new IllegalStateException("key has two versions below revision " + firstLogged);
        }
        base.add(oldest);
      }
    }
    return new Image(revision, compactRevision, leaseTtls, base, log);
  }

  /** A store as of one revision, ready to be written by any thread. Immutable. */
  static final class Image implements MvccStore.Snapshot {
    private final long revision;
    private final long compactRevision;
    private final List<long[]> leaseTtls;
    private final List<KeyValue> base;
    private final EventLog log;

    private Image(long revision, long compactRevision, List<long[]> leaseTtls,
        List<KeyValue> base, EventLog log) {
      this.revision = revision;
      this.compactRevision = compactRevision;
      this.leaseTtls = leaseTtls;
      this.base = base;
      this.log = log;
    }

    @Override
    public void writeTo(OutputStream out) throws IOException {
      CheckedOutputStream checked = new CheckedOutputStream(out, new CRC32C());
      DataOutputStream data = new DataOutputStream(checked);
      ByteOutput bytes = new DataByteOutput(data);
      data.writeLong(MAGIC);
      data.writeInt(FORMAT_VERSION);
      data.writeLong(revision);
      data.writeLong(compactRevision);

      data.writeInt(leaseTtls.size());
      for (long[] lease : leaseTtls) {
        data.writeLong(lease[0]);
        data.writeLong(lease[1]);
      }

      data.writeInt(base.size());
      for (KeyValue kv : base) {
        writeKv(data, bytes, kv);
      }

      long firstLogged = log.firstRevision();
      int revisions = (int) Math.max(0, revision - firstLogged + 1);
      data.writeInt(revisions);
      for (long r = firstLogged; r <= revision; r++) {
        KeyValue[] changes = log.changesAt(r);
        data.writeInt(changes.length);
        for (KeyValue kv : changes) {
          writeKv(data, bytes, kv);
        }
      }
      data.flush();
      int crc = (int) checked.getChecksum().getValue();
      data.writeInt(crc);
      data.flush();
    }
  }

  static MvccStore read(InputStream in) throws IOException {
    CheckedInputStream checked = new CheckedInputStream(in, new CRC32C());
    DataInputStream data = new DataInputStream(checked);
    try {
      long magic = data.readLong();
      if (magic != MAGIC) {
        throw new IOException("not an MVCC store snapshot: magic " + Long.toHexString(magic));
      }
      int version = data.readInt();
      if (version != FORMAT_VERSION) {
        throw new IOException("unsupported MVCC snapshot format version " + version
            + "; this build reads version " + FORMAT_VERSION);
      }
      long revision = data.readLong();
      long compactRevision = data.readLong();
      check(revision >= MvccStore.INITIAL_REVISION, "revision %d", revision);
      check(compactRevision >= 0 && compactRevision <= revision,
          "compact revision %d at revision %d", compactRevision, revision);

      LeaseTable leases = new LeaseTable();
      int leaseCount = readCount(data, "lease");
      long previousId = Long.MIN_VALUE;
      for (int i = 0; i < leaseCount; i++) {
        long id = data.readLong();
        long ttl = data.readLong();
        check(i == 0 || id > previousId, "lease %d out of order", id);
        check(id != LeaseTable.NO_LEASE, "lease ID 0");
        check(ttl >= 0 && ttl <= NuwaLimits.MAX_LEASE_TTL_SECONDS, "lease %d TTL %d", id, ttl);
        leases.grant(id, ttl);
        previousId = id;
      }

      long firstLogged = Math.max(EventLog.FIRST_WRITE_REVISION, compactRevision);
      KeyIndex index = new KeyIndex();
      int baseCount = readCount(data, "base version");
      ByteString previousKey = null;
      for (int i = 0; i < baseCount; i++) {
        KeyValue kv = readKv(data, index);
        check(!KeyHistory.isTombstone(kv) && kv.getModRevision() < firstLogged,
            "base version at revision %d", kv.getModRevision());
        check(previousKey == null || KeyRange.KEY_ORDER.compare(previousKey, kv.getKey()) < 0,
            "base versions out of key order");
        index.append(kv);
        previousKey = kv.getKey();
      }

      EventLog log = new EventLog(firstLogged);
      int revisions = readCount(data, "revision");
      check(revisions == Math.max(0, revision - firstLogged + 1),
          "%d logged revisions from %d to %d", revisions, firstLogged, revision);
      for (long r = firstLogged; r <= revision; r++) {
        int changeCount = readCount(data, "change");
        check(changeCount > 0, "revision %d has no changes", r);
        KeyValue[] changes = new KeyValue[Math.min(changeCount, 1024)];
        for (int i = 0; i < changeCount; i++) {
          KeyValue kv = readKv(data, index);
          check(kv.getModRevision() == r, "change of revision %d in revision %d",
              kv.getModRevision(), r);
          if (i == changes.length) {
            changes = Arrays.copyOf(changes, Math.min(changeCount, changes.length * 2));
          }
          changes[i] = kv;
          index.append(kv);
        }
        log.append(r, changes);
      }

      int expected = (int) checked.getChecksum().getValue();
      int actual = data.readInt();
      if (actual != expected) {
        throw new IOException(String.format(
            "MVCC snapshot checksum mismatch: stored %08x, computed %08x", actual, expected));
      }

      // The same trimming compaction did on the live store, which also drops a tombstone at
      // exactly the compact revision that the event log keeps.
      index.compact(compactRevision);
      for (KeyHistory history : index.histories()) {
        KeyValue latest = KeyIndex.live(history.latest());
        if (latest != null && latest.getLease() != LeaseTable.NO_LEASE) {
          LeaseTable.Lease lease = leases.get(latest.getLease());
          check(lease != null, "key attached to unknown lease %d", latest.getLease());
          lease.keys.add(history.key());
        }
      }
      return new MvccStore(index, leases, log, revision, compactRevision);
    } catch (EOFException e) {
      throw new IOException("MVCC snapshot is truncated", e);
    } catch (RuntimeException e) {
      throw new IOException("corrupt MVCC snapshot: " + e.getMessage(), e);
    }
  }

  private static void writeKv(DataOutputStream data, ByteOutput bytes, KeyValue kv)
      throws IOException {
    writeBytes(data, bytes, kv.getKey());
    writeBytes(data, bytes, kv.getValue());
    data.writeLong(kv.getCreateRevision());
    data.writeLong(kv.getModRevision());
    data.writeLong(kv.getVersion());
    data.writeLong(kv.getLease());
  }

  private static void writeBytes(DataOutputStream data, ByteOutput bytes, ByteString value)
      throws IOException {
    data.writeInt(value.size());
    // Straight from the ByteString's own storage: ByteString.writeTo would copy it first.
    UnsafeByteOperations.unsafeWriteTo(value, bytes);
  }

  private static KeyValue readKv(DataInputStream data, KeyIndex index) throws IOException {
    ByteString key = index.canonicalKey(readBytes(data));
    ByteString value = readBytes(data);
    long create = data.readLong();
    long mod = data.readLong();
    long version = data.readLong();
    long lease = data.readLong();
    check(!key.isEmpty(), "empty key");
    if (version == 0) {
      check(value.isEmpty() && create == 0 && lease == 0, "malformed tombstone");
    } else {
      check(version > 0 && create > 0 && create <= mod, "malformed version at revision %d", mod);
    }
    return KeyValue.newBuilder().setKey(key).setValue(value).setCreateRevision(create)
        .setModRevision(mod).setVersion(version).setLease(lease).build();
  }

  private static ByteString readBytes(DataInputStream data) throws IOException {
    int length = data.readInt();
    check(length >= 0 && length <= MAX_FIELD_BYTES, "field of %d bytes", length);
    if (length == 0) {
      return ByteString.EMPTY;
    }
    byte[] bytes = new byte[length];
    data.readFully(bytes);
    // The array is never touched again, so the ByteString may own it without a copy.
    return UnsafeByteOperations.unsafeWrap(bytes);
  }

  private static int readCount(DataInputStream data, String what) throws IOException {
    int count = data.readInt();
    check(count >= 0, "%s count %d", what, count);
    return count;
  }

  private static void check(boolean condition, String format, Object... args) throws IOException {
    if (!condition) {
      throw new IOException("corrupt MVCC snapshot: " + String.format(format, args));
    }
  }

  /** Feeds a ByteString's storage to a stream without copying it. */
  private static final class DataByteOutput extends ByteOutput {
    private final OutputStream out;

    DataByteOutput(OutputStream out) {
      this.out = out;
    }

    @Override
    public void write(byte value) throws IOException {
      out.write(value);
    }

    @Override
    public void write(byte[] value, int offset, int length) throws IOException {
      out.write(value, offset, length);
    }

    @Override
    public void writeLazy(byte[] value, int offset, int length) throws IOException {
      out.write(value, offset, length);
    }

    @Override
    public void write(ByteBuffer value) throws IOException {
      if (value.hasArray()) {
        out.write(value.array(), value.arrayOffset() + value.position(), value.remaining());
        value.position(value.limit());
      } else {
        byte[] copy = new byte[value.remaining()];
        value.get(copy);
        out.write(copy);
      }
    }

    @Override
    public void writeLazy(ByteBuffer value) throws IOException {
      write(value);
    }
  }
}
