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
 * resuming on onReady, so that neither side buffers more than a window. Data moves between the
 * store and protobuf messages as {@link java.nio.ByteBuffer} views ({@code asReadOnlyByteBuffer}
 * and {@code UnsafeByteOperations.unsafeWrap}); the copies left are gRPC's own, between its
 * network buffers and the message.
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
