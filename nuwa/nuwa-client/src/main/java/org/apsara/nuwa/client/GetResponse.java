package org.apsara.nuwa.client;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The keys a read found. Immutable.
 *
 * @param header where and at which revision the read was served
 * @param kvs the keys, in the requested order; empty with {@link GetOptions.Builder#countOnly}
 * @param more whether a limit cut the result short
 * @param count how many keys are in the range, regardless of the limit
 */
public record GetResponse(ResponseHeader header, List<KeyValue> kvs, boolean more, long count)
    implements OpResponse {
  public GetResponse {
    Objects.requireNonNull(header, "header");
    kvs = List.copyOf(kvs);
  }

  /** The first key found, if any: the only one when reading a single key. */
  public Optional<KeyValue> first() {
    return kvs.isEmpty() ? Optional.empty() : Optional.of(kvs.get(0));
  }

  public boolean isEmpty() {
    return kvs.isEmpty();
  }

  static GetResponse fromProto(io.etcd.jetcd.api.RangeResponse r) {
    return new GetResponse(
        ResponseHeader.fromProto(r.getHeader()),
        r.getKvsList().stream().map(KeyValue::fromProto).toList(),
        r.getMore(),
        r.getCount());
  }
}
