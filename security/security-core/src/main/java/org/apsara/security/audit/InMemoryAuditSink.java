package org.apsara.security.audit;

import java.util.ArrayDeque;
import java.util.List;

/**
 * Keeps the most recent audit events in memory, for tests.
 *
 * <p>Bounded: once {@code capacity} events are held, each new one drops the oldest. Thread-safe.
 */
public final class InMemoryAuditSink implements AuditSink {
  /** The largest capacity one sink may have. */
  public static final int CAPACITY_MAX = 100_000;
  /** The capacity of {@link #InMemoryAuditSink()}. */
  public static final int DEFAULT_CAPACITY = 1_000;

  private final int capacity;
  private final ArrayDeque<AuditEvent> events = new ArrayDeque<>();

  public InMemoryAuditSink() {
    this(DEFAULT_CAPACITY);
  }

  public InMemoryAuditSink(int capacity) {
    if (capacity < 1 || capacity > CAPACITY_MAX) {
      throw new IllegalArgumentException("capacity must be 1.." + CAPACITY_MAX + ": " + capacity);
    }
    this.capacity = capacity;
  }

  @Override
  public synchronized void record(AuditEvent event) {
    if (events.size() == capacity) {
      events.removeFirst();
    }
    events.addLast(event);
  }

  /** The events held, oldest first. */
  public synchronized List<AuditEvent> events() {
    return List.copyOf(events);
  }

  public synchronized void clear() {
    events.clear();
  }
}
