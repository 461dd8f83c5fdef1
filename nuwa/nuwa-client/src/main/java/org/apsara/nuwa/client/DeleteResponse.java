package org.apsara.nuwa.client;

import java.util.List;
import java.util.Objects;

/**
 * The outcome of a delete. Immutable.
 *
 * @param header {@code header.revision()} is the revision the delete created, if it deleted any
 * @param deleted how many keys were deleted
 * @param prevKvs the deleted keys as they were, if {@link DeleteOptions.Builder#prevKv} was asked
 */
public record DeleteResponse(ResponseHeader header, long deleted, List<KeyValue> prevKvs)
    implements OpResponse {
  public DeleteResponse {
    Objects.requireNonNull(header, "header");
    prevKvs = List.copyOf(prevKvs);
  }

  static DeleteResponse fromProto(io.etcd.jetcd.api.DeleteRangeResponse r) {
    return new DeleteResponse(
        ResponseHeader.fromProto(r.getHeader()),
        r.getDeleted(),
        r.getPrevKvsList().stream().map(KeyValue::fromProto).toList());
  }
}
