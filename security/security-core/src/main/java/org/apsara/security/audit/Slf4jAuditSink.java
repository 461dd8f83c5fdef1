package org.apsara.security.audit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Logs each audit event as one JSON object at INFO on the logger {@value #LOGGER_NAME}, so that a
 * logging configuration can route the audit trail to its own file and keep it apart from the
 * service's diagnostics.
 *
 * <p>Thread-safe; as fast and as durable as the logging backend.
 */
public final class Slf4jAuditSink implements AuditSink {
  /** The logger audit events are written to. */
  public static final String LOGGER_NAME = "apsara.audit";

  private final Logger logger = LoggerFactory.getLogger(LOGGER_NAME);

  @Override
  public void record(AuditEvent event) {
    if (logger.isInfoEnabled()) {
      logger.info(event.toJson());
    }
  }
}
