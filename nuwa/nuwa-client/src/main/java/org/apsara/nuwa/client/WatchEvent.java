package org.apsara.nuwa.client;

import java.util.Objects;
import java.util.Optional;

/**
 * One change to one key. Immutable.
 *
 * @param type whether the key was written or deleted
 * @param kv the key after the change; for a delete, only the key and {@code modRevision} (the
 *     revision of the delete) are set
 * @param prevKv the key before the change, if the watch asked for it and the key existed
 */
public record WatchEvent(Type type, KeyValue kv, Optional<KeyValue> prevKv) {
  /** The kind of change. */
  public enum Type {
    PUT,
    DELETE
  }

  public WatchEvent {
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(kv, "kv");
    Objects.requireNonNull(prevKv, "prevKv");
  }

  /** The revision of the change. */
  public long revision() {
    return kv.modRevision();
  }

  static WatchEvent fromProto(io.etcd.jetcd.api.Event event) {
    Type type =
        switch (event.getType()) {
          case PUT -> Type.PUT;
          case DELETE -> Type.DELETE;
          case UNRECOGNIZED ->
              throw new NuwaException(
                  io.grpc.Status.Code.INTERNAL, "unknown watch event type " + event.getTypeValue());
        };
    return new WatchEvent(
        type,
        KeyValue.fromProto(event.getKv()),
        event.hasPrevKv() ? Optional.of(KeyValue.fromProto(event.getPrevKv())) : Optional.empty());
  }
}
