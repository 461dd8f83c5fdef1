package org.apsara.pangu.master.server;

import org.apsara.pangu.api.v1.ChunkServerLocation;
import org.apsara.pangu.master.chunks.ChunkServerView;
import org.apsara.pangu.master.namespace.ContentSummary;
import org.apsara.pangu.master.namespace.FileStatus;

/** Conversions from the master's types to the contract's messages. Stateless. */
final class ProtoViews {
  private ProtoViews() {}

  static org.apsara.pangu.api.v1.FileStatus status(FileStatus s) {
    return org.apsara.pangu.api.v1.FileStatus.newBuilder()
        .setPath(s.path())
        .setInodeId(s.inodeId())
        .setDirectory(s.directory())
        .setMode(s.mode())
        .setOwner(s.owner())
        .setGroup(s.group())
        .setMtimeMs(s.mtimeMs())
        .setAtimeMs(s.atimeMs())
        .setLength(s.lengthBytes())
        .setReplication(s.replication())
        .setChunkSize(s.chunkSizeBytes())
        .setChunkCount(s.chunkCount())
        .setOpen(s.open())
        .setLeaseHolder(s.leaseHolder())
        .setNameQuota(s.directory() ? s.nameQuota() : FileStatus.NO_QUOTA)
        .setSpaceQuota(s.directory() ? s.spaceQuotaBytes() : FileStatus.NO_QUOTA)
        .build();
  }

  static org.apsara.pangu.api.v1.ContentSummary summary(ContentSummary s) {
    return org.apsara.pangu.api.v1.ContentSummary.newBuilder()
        .setFiles(s.files())
        .setDirectories(s.directories())
        .setLength(s.lengthBytes())
        .setSpaceConsumed(s.spaceConsumedBytes())
        .setNameQuota(s.nameQuota())
        .setSpaceQuota(s.spaceQuotaBytes())
        .build();
  }

  static ChunkServerLocation location(ChunkServerView server) {
    return ChunkServerLocation.newBuilder()
        .setId(server.id())
        .setAddress(server.address().format())
        .setRack(server.rack())
        .build();
  }
}
