package org.apsara.nuwa.client;

import io.etcd.jetcd.api.TxnRequest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apsara.nuwa.api.NuwaLimits;

/**
 * An atomic transaction: if every comparison holds, run the {@code then} operations, otherwise the
 * {@code else} operations, all at one revision. Immutable; build with {@link #builder()}:
 *
 * <pre>{@code
 * Txn txn = Txn.builder()
 *     .when(Cmp.createRevision("lock").equalTo(0))
 *     .then(Op.put("lock", "me"))
 *     .orElse(Op.get("lock"))
 *     .build();
 * TxnResponse r = client.kv().txn(txn);
 * }</pre>
 *
 * <p>Each branch holds at most {@link NuwaLimits#MAX_TXN_OPS} operations, and a key may be written
 * at most once per branch (the server rejects the transaction otherwise).
 */
public final class Txn {
  private final List<Cmp> compares;
  private final List<Op> thenOps;
  private final List<Op> elseOps;

  private Txn(Builder b) {
    this.compares = List.copyOf(b.compares);
    this.thenOps = List.copyOf(b.thenOps);
    this.elseOps = List.copyOf(b.elseOps);
  }

  public static Builder builder() {
    return new Builder();
  }

  public List<Cmp> compares() {
    return compares;
  }

  public List<Op> thenOps() {
    return thenOps;
  }

  public List<Op> elseOps() {
    return elseOps;
  }

  /** Whether neither branch writes, so that the transaction may safely be sent again. */
  public boolean isReadOnly() {
    return thenOps.stream().allMatch(Op::isReadOnly) && elseOps.stream().allMatch(Op::isReadOnly);
  }

  TxnRequest toProto() {
    TxnRequest.Builder b = TxnRequest.newBuilder();
    compares.forEach(c -> b.addCompare(c.toProto()));
    thenOps.forEach(o -> b.addSuccess(o.toProto()));
    elseOps.forEach(o -> b.addFailure(o.toProto()));
    return b.build();
  }

  /** Builds a {@link Txn}. Each call adds to what was given before. Not thread-safe. */
  public static final class Builder {
    private final List<Cmp> compares = new ArrayList<>();
    private final List<Op> thenOps = new ArrayList<>();
    private final List<Op> elseOps = new ArrayList<>();

    private Builder() {}

    /** Conditions, all of which must hold for the {@code then} branch to run. */
    public Builder when(Cmp... compares) {
      this.compares.addAll(Arrays.asList(compares));
      return this;
    }

    /** Operations run when every condition holds. */
    public Builder then(Op... ops) {
      thenOps.addAll(Arrays.asList(ops));
      return this;
    }

    /** Operations run when some condition does not hold. */
    public Builder orElse(Op... ops) {
      elseOps.addAll(Arrays.asList(ops));
      return this;
    }

    public Txn build() {
      if (thenOps.size() > NuwaLimits.MAX_TXN_OPS || elseOps.size() > NuwaLimits.MAX_TXN_OPS) {
        throw new IllegalArgumentException(
            "a transaction branch holds at most "
                + NuwaLimits.MAX_TXN_OPS
                + " operations, got "
                + Math.max(thenOps.size(), elseOps.size()));
      }
      return new Txn(this);
    }
  }
}
