package org.apsara.bench.nuwa;

/**
 * One client connection of the benchmark to one member of a system under test, operating on the
 * keys of a {@link KeySpace}.
 *
 * <p>Thread-safe: up to {@link ClosedLoopWorkload#CLIENTS_PER_CONNECTION} client threads share a
 * connection, each with one call in flight. Every call returns or throws within the operation
 * timeout the connection was opened with; it never blocks forever.
 */
interface KvConnection extends AutoCloseable {
  /** Makes key {@code key} exist with the run's value (preparation, not measured). */
  void create(int key) throws Exception;

  /** Writes the run's value to key {@code key}, acknowledged once durable on a quorum. */
  void put(int key) throws Exception;

  /**
   * Reads key {@code key} linearizably: the read sees every write acknowledged before it began.
   *
   * @throws IllegalStateException if the key is missing or holds another value
   */
  void get(int key) throws Exception;

  @Override
  void close();
}
