package org.apsara.nuwa.client;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnknownFieldSet;
import io.etcd.jetcd.api.Compare;
import java.util.Objects;

/**
 * One condition of a transaction: a key's value, version, create revision, mod revision or lease
 * compared with a constant. Immutable. Start from the attribute, then the comparison:
 *
 * <pre>{@code
 * Cmp.createRevision("jobs/42").equalTo(0)      // the key does not exist
 * Cmp.value("config/mode").equalTo("active")
 * Cmp.modRevision(KeyRange.prefix("queue/")).lessThan(rev)   // holds for every key in the range
 * }</pre>
 *
 * <p>A key that does not exist has version, create and mod revision and lease 0 and an empty value.
 */
public final class Cmp {
  /**
   * etcd's {@code Compare.CompareTarget.LEASE} and the {@code lease} member of {@code target_union}
   * (etcd 3.3+). The generated classes this client uses predate them, so they are written as the
   * raw enum number and an unknown field with etcd's field number; on the wire that is exactly
   * etcd's encoding.
   */
  private static final int LEASE_TARGET = 4;

  private static final int LEASE_FIELD_NUMBER = 8;

  private final Compare proto;

  private Cmp(Compare proto) {
    this.proto = proto;
  }

  /** Compares the value of {@code key}. */
  public static ValueTarget value(ByteString key) {
    return new ValueTarget(KeyRange.key(key));
  }

  public static ValueTarget value(String key) {
    return new ValueTarget(KeyRange.key(key));
  }

  /** Compares the value of every key in {@code range}. */
  public static ValueTarget value(KeyRange range) {
    return new ValueTarget(range);
  }

  /** Compares the number of puts to {@code key} since it was created (0 if it does not exist). */
  public static LongTarget version(ByteString key) {
    return new LongTarget(KeyRange.key(key), Compare.CompareTarget.VERSION_VALUE);
  }

  public static LongTarget version(String key) {
    return new LongTarget(KeyRange.key(key), Compare.CompareTarget.VERSION_VALUE);
  }

  public static LongTarget version(KeyRange range) {
    return new LongTarget(range, Compare.CompareTarget.VERSION_VALUE);
  }

  /** Compares the revision that created {@code key} (0 if it does not exist). */
  public static LongTarget createRevision(ByteString key) {
    return new LongTarget(KeyRange.key(key), Compare.CompareTarget.CREATE_VALUE);
  }

  public static LongTarget createRevision(String key) {
    return new LongTarget(KeyRange.key(key), Compare.CompareTarget.CREATE_VALUE);
  }

  public static LongTarget createRevision(KeyRange range) {
    return new LongTarget(range, Compare.CompareTarget.CREATE_VALUE);
  }

  /** Compares the revision of the last put to {@code key} (0 if it does not exist). */
  public static LongTarget modRevision(ByteString key) {
    return new LongTarget(KeyRange.key(key), Compare.CompareTarget.MOD_VALUE);
  }

  public static LongTarget modRevision(String key) {
    return new LongTarget(KeyRange.key(key), Compare.CompareTarget.MOD_VALUE);
  }

  public static LongTarget modRevision(KeyRange range) {
    return new LongTarget(range, Compare.CompareTarget.MOD_VALUE);
  }

  /** Compares the lease {@code key} is attached to (0 for none or if it does not exist). */
  public static LongTarget lease(ByteString key) {
    return new LongTarget(KeyRange.key(key), LEASE_TARGET);
  }

  public static LongTarget lease(String key) {
    return new LongTarget(KeyRange.key(key), LEASE_TARGET);
  }

  public static LongTarget lease(KeyRange range) {
    return new LongTarget(range, LEASE_TARGET);
  }

  Compare toProto() {
    return proto;
  }

  @Override
  public String toString() {
    return "Cmp{" + proto.toString().replace('\n', ' ').trim() + "}";
  }

  private static Compare.Builder base(KeyRange range, int target, Compare.CompareResult result) {
    return Compare.newBuilder()
        .setKey(range.key())
        .setRangeEnd(range.rangeEnd())
        .setTargetValue(target)
        .setResult(result);
  }

  /** A numeric attribute waiting for its comparison. */
  public static final class LongTarget {
    private final KeyRange range;
    private final int target;

    private LongTarget(KeyRange range, int target) {
      this.range = Objects.requireNonNull(range, "range");
      this.target = target;
    }

    public Cmp equalTo(long operand) {
      return build(Compare.CompareResult.EQUAL, operand);
    }

    public Cmp notEqualTo(long operand) {
      return build(Compare.CompareResult.NOT_EQUAL, operand);
    }

    public Cmp greaterThan(long operand) {
      return build(Compare.CompareResult.GREATER, operand);
    }

    public Cmp lessThan(long operand) {
      return build(Compare.CompareResult.LESS, operand);
    }

    private Cmp build(Compare.CompareResult result, long operand) {
      Compare.Builder b = base(range, target, result);
      switch (target) {
        case Compare.CompareTarget.VERSION_VALUE -> b.setVersion(operand);
        case Compare.CompareTarget.CREATE_VALUE -> b.setCreateRevision(operand);
        case Compare.CompareTarget.MOD_VALUE -> b.setModRevision(operand);
        case LEASE_TARGET ->
            b.setUnknownFields(
                UnknownFieldSet.newBuilder()
                    .addField(
                        LEASE_FIELD_NUMBER,
                        UnknownFieldSet.Field.newBuilder().addVarint(operand).build())
                    .build());
        default -> throw new IllegalStateException("not a numeric target: " + target);
      }
      return new Cmp(b.build());
    }
  }

  /** A key's value waiting for its comparison. Values compare as unsigned bytes. */
  public static final class ValueTarget {
    private final KeyRange range;

    private ValueTarget(KeyRange range) {
      this.range = Objects.requireNonNull(range, "range");
    }

    public Cmp equalTo(ByteString operand) {
      return build(Compare.CompareResult.EQUAL, operand);
    }

    public Cmp equalTo(String operand) {
      return equalTo(ByteString.copyFromUtf8(operand));
    }

    public Cmp notEqualTo(ByteString operand) {
      return build(Compare.CompareResult.NOT_EQUAL, operand);
    }

    public Cmp notEqualTo(String operand) {
      return notEqualTo(ByteString.copyFromUtf8(operand));
    }

    public Cmp greaterThan(ByteString operand) {
      return build(Compare.CompareResult.GREATER, operand);
    }

    public Cmp greaterThan(String operand) {
      return greaterThan(ByteString.copyFromUtf8(operand));
    }

    public Cmp lessThan(ByteString operand) {
      return build(Compare.CompareResult.LESS, operand);
    }

    public Cmp lessThan(String operand) {
      return lessThan(ByteString.copyFromUtf8(operand));
    }

    private Cmp build(Compare.CompareResult result, ByteString operand) {
      Objects.requireNonNull(operand, "operand");
      return new Cmp(
          base(range, Compare.CompareTarget.VALUE_VALUE, result).setValue(operand).build());
    }
  }
}
