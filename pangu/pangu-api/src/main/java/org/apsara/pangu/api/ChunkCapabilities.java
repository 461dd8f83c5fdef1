package org.apsara.pangu.api;

/**
 * How capability tokens for the chunkserver are scoped: the resource a token names and the
 * operations it may grant, as the master issues them and the chunkserver checks them.
 *
 * <ul>
 *   <li>{@value #READ}: ReadReplica, GetReplica, and reading the source of a ReplicateReplica;
 *   <li>{@value #WRITE}: WriteReplica;
 *   <li>{@value #ADMIN}: SealReplica, GetReplica, DeleteReplicas, BumpGeneration and
 *       ReplicateReplica on the target. These change what the master's metadata relies on
 *       (final length, generation, existence), so only the master should hold them.
 * </ul>
 *
 * <p>Stateless.
 */
public final class ChunkCapabilities {
  /** Operation granting reads of a replica. */
  public static final String READ = "read";
  /** Operation granting appends to a replica. */
  public static final String WRITE = "write";
  /** Operation granting the master's calls: seal, delete, bump generation, replicate. */
  public static final String ADMIN = "admin";

  private static final String RESOURCE_PREFIX = "chunk/";

  private ChunkCapabilities() {}

  /** The resource a token for this chunk names: {@code chunk/<id in unsigned decimal>}. */
  public static String resource(long chunkId) {
    return RESOURCE_PREFIX + Long.toUnsignedString(chunkId);
  }
}
