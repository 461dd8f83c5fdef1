package org.apsara.pangu.api;

/** The limits of the chunkserver's gRPC protocol, shared by its server and clients. */
public final class ChunkServerLimits {
  /**
   * Most data bytes in one WritePacket or ReadReplicaResponse: large enough that per-message costs
   * (framing, a callback, a CRC setup) are small against the copy, small enough that one message
   * does not hold a flow-control window for long.
   */
  public static final int DATA_MESSAGE_BYTES_MAX = 1 << 20;

  /** Most entries in one DeleteReplicas call: each costs a directory fsync. */
  public static final int DELETE_BATCH_MAX = 1024;

  /**
   * Room for everything in a message besides its data (fields, a token of at most 1200
   * characters, framing); the largest inbound message is the data limit plus this.
   */
  public static final int MESSAGE_OVERHEAD_BYTES_MAX = 16 << 10;

  /**
   * Initial HTTP/2 flow-control window per stream, both ways: about eight data messages in
   * flight, so that a pipelined writer keeps the network busy while the server appends. Netty's
   * automatic window tuning may grow it further.
   */
  public static final int FLOW_CONTROL_WINDOW_BYTES = 8 << 20;

  private ChunkServerLimits() {}
}
