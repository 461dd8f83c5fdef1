/**
 * The chunkserver's network service: {@link org.apsara.pangu.chunkserver.server.ChunkServer}
 * assembles the {@link org.apsara.pangu.chunkserver.store.ChunkStore}, its scrubber, the {@code
 * apsara.pangu.v1.ChunkServer} gRPC service and the metrics/health endpoint, configured by {@link
 * org.apsara.pangu.chunkserver.server.ChunkServerConfig}.
 *
 * <h2>Data path</h2>
 *
 * WriteReplica is one bidirectional stream per writer: the client pipelines packets of up to 1
 * MiB without waiting, within the HTTP/2 flow-control window; the server applies each before it
 * asks for the next, and acknowledges the synced length when a packet asks for a sync and when
 * the stream ends. ReadReplica streams the range back, sending while the transport is ready and
 * resuming on onReady, so that neither side buffers more than a window.
 *
 * <p>Copies on the way in: none in Java. {@code
 * WriteRequestMarshaller} parses a packet so that its data
 * views the direct network buffers it arrived in; the packet's CRC32C is checked over them, and
 * the store checksums them per block and writes them with one gathering write, after which the
 * buffers go back to gRPC. The kernel's copies (socket to network buffer, buffer to page cache)
 * remain. On the way out, each message is read and verified straight into a direct buffer of the
 * handler thread, which gRPC copies into its network buffers when the message is sent.
 *
 * <p>Without TLS, the bulk port ({@code BulkReadServer}) serves the same reads and writes over
 * plain TCP, which clients prefer: reads by {@code sendfile} with the stored block checksums,
 * writes ({@code BulkWriteSession}) read from the socket straight into a direct buffer and
 * appended through the same store calls as WriteReplica, with the same statuses and the same
 * rule that an ack follows the force. A thread per connection, at most 128.
 *
 * <h2>Heartbeats</h2>
 *
 * With master addresses configured, {@code HeartbeatSender}
 * reports to the master leader on a thread of its own: the chunkserver's stable id (kept on its
 * volumes by {@link org.apsara.pangu.chunkserver.store.ChunkServerIdentity}), advertised address
 * and rack, its volumes' space, full or incremental replica reports and corrupt replicas. It
 * reads snapshots of the store and takes no replica's lock. {@code /ready} fails while the
 * master answers no heartbeat; {@code /health} does not depend on the master.
 *
 * <h2>Security</h2>
 *
 * Every request carries a capability token that the master issued for {@code chunk/<id>}; the
 * operations each call needs are listed in {@link
 * org.apsara.pangu.api.ChunkCapabilities}. The keys come from the file named by
 * {@link org.apsara.pangu.chunkserver.server.ChunkServerConfig#tokenKeyFile()} (format in {@link
 * org.apsara.security.token.TokenKeyFile}). TLS, when configured, protects the tokens
 * and the data on the wire.
 *
 * <h2>Threading</h2>
 *
 * Every call runs on a fixed pool of handler threads, never on a network thread, because every
 * call may block on the disk; gRPC runs the callbacks of one call one at a time.
 */
package org.apsara.pangu.chunkserver.server;
