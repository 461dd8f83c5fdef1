package org.apsara.pangu.hadoop;

import java.time.Duration;
import org.apsara.pangu.client.PanguClientConfig;

/**
 * The Hadoop configuration keys of the {@code pangu://} file system, with their defaults.
 *
 * <p>A file system URI names its master group in one of two ways:
 * <ul>
 *   <li>directly: {@code pangu://host1:7000,host2:7000,host3:7000/path};
 *   <li>by a cluster name: {@code pangu://prod/path}, with {@code fs.pangu.masters.prod} listing
 *       the members ({@code host:port,host:port}).
 * </ul>
 * {@code pangu:///path} uses {@value #MASTERS}.
 */
public final class PanguConfigKeys {
  /** The master members of {@code pangu:///}: {@code host:port,host:port,...}. */
  public static final String MASTERS = "fs.pangu.masters";
  /** Prefix of {@code fs.pangu.masters.<cluster name>}. */
  public static final String MASTERS_PREFIX = MASTERS + ".";
  /** The chunk size of new files when the caller passes none (Hadoop's block size). */
  public static final String CHUNK_SIZE = "fs.pangu.chunk.size";
  public static final long CHUNK_SIZE_DEFAULT = 64L << 20;
  /** The replication of new files when the caller passes none. */
  public static final String REPLICATION = "fs.pangu.replication";
  public static final int REPLICATION_DEFAULT = 3;
  /** The most one master operation may take, retries included, in milliseconds. */
  public static final String OPERATION_TIMEOUT_MS = "fs.pangu.operation.timeout.ms";
  public static final long OPERATION_TIMEOUT_MS_DEFAULT =
      PanguClientConfig.DEFAULT_OPERATION_TIMEOUT.toMillis();
  /** How long a replica may take to acknowledge before a writer moves on without it, in ms. */
  public static final String REPLICA_ACK_TIMEOUT_MS = "fs.pangu.replica.ack.timeout.ms";
  public static final long REPLICA_ACK_TIMEOUT_MS_DEFAULT =
      PanguClientConfig.DEFAULT_REPLICA_ACK_TIMEOUT.toMillis();
  /** This machine's host name, for placement and nearest reads; "" for none. */
  public static final String CLIENT_HOST = "fs.pangu.client.host";
  /**
   * The AccessKey id that signs master calls, with {@value #ACCESS_KEY_SECRET}; unset for a
   * cluster that runs without authentication.
   */
  public static final String ACCESS_KEY_ID = "fs.pangu.access.key.id";
  /**
   * The AccessKey secret; read with {@code Configuration.getPassword}, so it may live in a Hadoop
   * credential provider rather than in a configuration file.
   */
  public static final String ACCESS_KEY_SECRET = "fs.pangu.access.key.secret";
  /** The cluster's region, which signatures are scoped to. */
  public static final String REGION = "fs.pangu.region";
  public static final String REGION_DEFAULT = "local";

  private PanguConfigKeys() {}

  static Duration millis(long value, String key) {
    if (value <= 0) {
      throw new IllegalArgumentException(key + " must be positive: " + value);
    }
    return Duration.ofMillis(value);
  }
}
