package org.apsara.nuwa.client;

import java.util.Objects;
import java.util.Optional;

/**
 * The outcome of a put. Immutable.
 *
 * @param header {@code header.revision()} is the revision the put created
 * @param prevKv the key before the put, if {@link PutOptions.Builder#prevKv} was asked and the key
 *     existed
 */
public record PutResponse(ResponseHeader header, Optional<KeyValue> prevKv) implements OpResponse {
  public PutResponse {
    Objects.requireNonNull(header, "header");
    Objects.requireNonNull(prevKv, "prevKv");
  }

  static PutResponse fromProto(io.etcd.jetcd.api.PutResponse r) {
    return new PutResponse(
        ResponseHeader.fromProto(r.getHeader()),
        r.hasPrevKv() ? Optional.of(KeyValue.fromProto(r.getPrevKv())) : Optional.empty());
  }
}
