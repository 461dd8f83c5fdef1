/**
 * A client of one chunkserver's data path ({@link
 * org.apsara.pangu.client.chunkserver.ChunkServerClient}, {@link
 * org.apsara.pangu.client.chunkserver.ReplicaWriter}), its plain TCP bulk paths for reads ({@link
 * org.apsara.pangu.client.chunkserver.BulkReadClient}, {@link
 * org.apsara.pangu.client.chunkserver.BulkReadProtocol}) and writes ({@link
 * org.apsara.pangu.client.chunkserver.BulkReplicaWriter}, {@link
 * org.apsara.pangu.client.chunkserver.BulkWriteProtocol}), and the protocol's shared constants:
 * token scoping ({@link org.apsara.pangu.api.ChunkCapabilities}) and limits ({@link
 * org.apsara.pangu.api.ChunkServerLimits}). The file system client builds on it.
 */
package org.apsara.pangu.client.chunkserver;
