package org.apsara.security.audit;

/**
 * Where audit events go.
 *
 * <p>Implementations must be thread-safe, must not block for long (they are called on gRPC
 * threads, once per audited decision) and must not throw: losing an audit record must not turn
 * into failing the request.
 */
@FunctionalInterface
public interface AuditSink {
  void record(AuditEvent event);
}
