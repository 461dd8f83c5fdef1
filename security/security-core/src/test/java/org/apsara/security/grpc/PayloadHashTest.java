package org.apsara.security.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.grpc.MethodDescriptor;
import io.grpc.protobuf.ProtoUtils;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import org.apsara.security.sign.SignatureV3;
import org.junit.jupiter.api.Test;

class PayloadHashTest {
  private static final MethodDescriptor<Struct, Struct> STRUCT_METHOD =
      MethodDescriptor.<Struct, Struct>newBuilder()
          .setType(MethodDescriptor.MethodType.UNARY)
          .setFullMethodName("apsara.test.Proto/Keys")
          .setRequestMarshaller(ProtoUtils.marshaller(Struct.getDefaultInstance()))
          .setResponseMarshaller(ProtoUtils.marshaller(Struct.getDefaultInstance()))
          .build();

  @Test
  void protobufMessagesHashTheirDeterministicEncoding() throws Exception {
    Struct zFirst = Struct.newBuilder()
        .putFields("z", Value.newBuilder().setNumberValue(1).build())
        .putFields("a", Value.newBuilder().setNumberValue(2).build())
        .build();
    Struct aFirst = Struct.newBuilder()
        .putFields("a", Value.newBuilder().setNumberValue(2).build())
        .putFields("z", Value.newBuilder().setNumberValue(1).build())
        .build();
    ByteArrayOutputStream sorted = new ByteArrayOutputStream();
    CodedOutputStream out = CodedOutputStream.newInstance(sorted);
    out.useDeterministicSerialization();
    aFirst.writeTo(out);
    out.flush();

    String hash = PayloadHash.sha256Hex(STRUCT_METHOD, zFirst);

    assertThat(hash).isEqualTo(PayloadHash.sha256Hex(STRUCT_METHOD, aFirst));
    assertThat(hash).isEqualTo(SignatureV3.sha256Hex(sorted.toByteArray()));
    // Without deterministic serialization the insertion order would show in the bytes.
    assertThat(zFirst.toByteArray()).isNotEqualTo(aFirst.toByteArray());
  }

  @Test
  void otherMessagesHashWhatTheirMarshallerWrites() {
    assertThat(PayloadHash.sha256Hex(EchoService.UNARY, "hello"))
        .isEqualTo(SignatureV3.sha256Hex("hello".getBytes(StandardCharsets.UTF_8)));
  }
}
