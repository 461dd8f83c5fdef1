package org.apsara.nuwa.client;

import java.util.List;
import java.util.Objects;

/**
 * The outcome of a transaction. Immutable.
 *
 * @param header {@code header.revision()} is the revision the transaction created if it wrote
 * @param succeeded whether every comparison held, so that the {@code then} branch ran (otherwise
 *     the {@code else} branch did)
 * @param responses one result per operation of the branch that ran, in order
 */
public record TxnResponse(ResponseHeader header, boolean succeeded, List<OpResponse> responses)
    implements OpResponse {
  public TxnResponse {
    Objects.requireNonNull(header, "header");
    responses = List.copyOf(responses);
  }

  /** The result of operation {@code index} of the branch that ran, which must be a get. */
  public GetResponse getResponse(int index) {
    return as(index, GetResponse.class);
  }

  /** The result of operation {@code index} of the branch that ran, which must be a put. */
  public PutResponse putResponse(int index) {
    return as(index, PutResponse.class);
  }

  /** The result of operation {@code index} of the branch that ran, which must be a delete. */
  public DeleteResponse deleteResponse(int index) {
    return as(index, DeleteResponse.class);
  }

  /** The result of operation {@code index} of the branch that ran, which must be a nested txn. */
  public TxnResponse txnResponse(int index) {
    return as(index, TxnResponse.class);
  }

  private <T extends OpResponse> T as(int index, Class<T> type) {
    OpResponse response = responses.get(index);
    if (!type.isInstance(response)) {
      throw new IllegalArgumentException(
          "operation "
              + index
              + " is a "
              + response.getClass().getSimpleName()
              + ", not a "
              + type.getSimpleName());
    }
    return type.cast(response);
  }

  static TxnResponse fromProto(io.etcd.jetcd.api.TxnResponse r) {
    return new TxnResponse(
        ResponseHeader.fromProto(r.getHeader()),
        r.getSucceeded(),
        r.getResponsesList().stream().map(TxnResponse::opFromProto).toList());
  }

  private static OpResponse opFromProto(io.etcd.jetcd.api.ResponseOp op) {
    return switch (op.getResponseCase()) {
      case RESPONSE_RANGE -> GetResponse.fromProto(op.getResponseRange());
      case RESPONSE_PUT -> PutResponse.fromProto(op.getResponsePut());
      case RESPONSE_DELETE_RANGE -> DeleteResponse.fromProto(op.getResponseDeleteRange());
      case RESPONSE_TXN -> TxnResponse.fromProto(op.getResponseTxn());
      case RESPONSE_NOT_SET ->
          throw new NuwaException(io.grpc.Status.Code.INTERNAL, "server sent an empty txn result");
    };
  }
}
