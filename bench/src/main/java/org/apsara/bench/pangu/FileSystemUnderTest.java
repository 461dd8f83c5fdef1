package org.apsara.bench.pangu;

import java.io.IOException;
import java.time.Duration;
import java.util.Optional;

/**
 * One file system as the benchmark drives it: whole-file sequential writes and reads, and the
 * metadata operations of the small-file steps. Implementations are used from several threads at
 * once; {@link #close()} stops everything the system started.
 */
interface FileSystemUnderTest extends AutoCloseable {
  /** The name in reports, e.g. {@code Pangu}. */
  String name();

  /** What ran, for the report: members, replication, durability settings. */
  String description();

  /**
   * Writes a new file of {@code data.blocks() * data.blockBytes()} bytes, block by block, and
   * returns once it is closed: every byte on every replica, as durable as the system makes a
   * closed file.
   */
  void writeFile(String path, BlockPattern data) throws IOException;

  /** Reads the whole file sequentially, checking every block, and returns the bytes read. */
  long readFile(String path, BlockPattern data) throws IOException;

  void mkdirs(String path) throws IOException;

  /** Creates an empty file and closes it. */
  void createEmpty(String path) throws IOException;

  /** Fetches the attributes of {@code path}, failing if it does not exist. */
  void stat(String path) throws IOException;

  /** Deletes the file {@code path}, failing if it does not exist. */
  void delete(String path) throws IOException;

  /**
   * CPU time the processes this system started outside the benchmark's JVM have used so far
   * (zero for a system that runs inside it), or empty where the operating system does not say.
   */
  Optional<Duration> processesCpuTime();

  /** The part of {@link #processesCpuTime} that their JIT compilers used. */
  Optional<Duration> processesCompilerCpuTime();

  @Override
  void close() throws IOException;
}
