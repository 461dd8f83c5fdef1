/**
 * The audit trail of security decisions: {@link org.apsara.security.audit.AuditEvent}, where events
 * go ({@link org.apsara.security.audit.AuditSink}), a sink that writes JSON lines to the {@code
 * apsara.audit} logger ({@link org.apsara.security.audit.Slf4jAuditSink}) and a bounded in-memory
 * sink for tests ({@link org.apsara.security.audit.InMemoryAuditSink}).
 */
package org.apsara.security.audit;
