package org.apsara.nuwa.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import io.etcd.jetcd.api.Compare;
import org.apsara.nuwa.api.NuwaLimits;
import org.junit.jupiter.api.Test;

class CmpTest {
  @Test
  void leaseComparisonIsWrittenWithEtcdsTargetAndFieldNumbers() throws Exception {
    Compare proto = Cmp.lease("k").equalTo(0x1234).toProto();

    assertThat(proto.getTargetValue()).isEqualTo(4);
    CodedInputStream in = CodedInputStream.newInstance(proto.toByteArray());
    long lease = -1;
    for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
      if (WireFormat.getTagFieldNumber(tag) == 8) {
        assertThat(WireFormat.getTagWireType(tag)).isEqualTo(WireFormat.WIRETYPE_VARINT);
        lease = in.readInt64();
      } else {
        in.skipField(tag);
      }
    }
    assertThat(lease).isEqualTo(0x1234);
  }

  @Test
  void rangeComparisonCarriesTheRangeEnd() {
    Compare proto = Cmp.modRevision(KeyRange.prefix("a/")).lessThan(7).toProto();
    assertThat(proto.getRangeEnd().toStringUtf8()).isEqualTo("a0");
    assertThat(proto.getModRevision()).isEqualTo(7);
    assertThat(proto.getResult()).isEqualTo(Compare.CompareResult.LESS);
  }

  @Test
  void transactionBranchesAreLimited() {
    Op[] ops = new Op[NuwaLimits.MAX_TXN_OPS + 1];
    for (int i = 0; i < ops.length; i++) {
      ops[i] = Op.put("k" + i, "v");
    }
    assertThatThrownBy(() -> Txn.builder().then(ops).build())
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(
            Txn.builder()
                .orElse(java.util.Arrays.copyOf(ops, NuwaLimits.MAX_TXN_OPS))
                .build()
                .isReadOnly())
        .isFalse();
  }
}
