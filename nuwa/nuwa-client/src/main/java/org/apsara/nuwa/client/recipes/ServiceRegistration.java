package org.apsara.nuwa.client.recipes;

import com.google.protobuf.ByteString;
import org.apsara.nuwa.client.Cmp;
import org.apsara.nuwa.client.Op;
import org.apsara.nuwa.client.Txn;

/**
 * A registered instance, listed for as long as this registration is open and its session alive.
 * Thread-safe. Closing it deregisters the instance; so does the end of its session.
 */
public final class ServiceRegistration implements AutoCloseable {
  private final Session session;
  private final ServiceInstance instance;
  private final ByteString key;
  private volatile boolean closed;

  ServiceRegistration(Session session, ServiceInstance instance, ByteString key) {
    this.session = session;
    this.instance = instance;
    this.key = key;
  }

  public ServiceInstance instance() {
    return instance;
  }

  /** The key the instance is registered under. */
  public ByteString key() {
    return key;
  }

  /** Whether the registration is open and its session alive. */
  public boolean isActive() {
    return !closed && session.isAlive();
  }

  /**
   * Deregisters the instance: deletes its key, if it is still this session's. Idempotent. Does not
   * close the session.
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    if (session.isAlive()) {
      session
          .client()
          .kv()
          .txn(
              Txn.builder()
                  .when(Cmp.lease(key).equalTo(session.leaseId()))
                  .then(Op.delete(key))
                  .build());
    }
  }
}
