/**
 * A client of one chunkserver's data path ({@link
 * org.apsara.pangu.client.chunkserver.ChunkServerClient}, {@link
 * org.apsara.pangu.client.chunkserver.ReplicaWriter}) and the protocol's shared constants: token
 * scoping ({@link org.apsara.pangu.api.ChunkCapabilities}) and limits ({@link
 * org.apsara.pangu.api.ChunkServerLimits}). The file system client builds on it.
 */
package org.apsara.pangu.client.chunkserver;
