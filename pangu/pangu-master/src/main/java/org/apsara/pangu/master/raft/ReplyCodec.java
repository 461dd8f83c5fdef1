package org.apsara.pangu.master.raft;

import com.google.protobuf.InvalidProtocolBufferException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.apsara.pangu.master.namespace.ChunkInfo;
import org.apsara.pangu.master.namespace.ContentSummary;
import org.apsara.pangu.master.namespace.FileStatus;
import org.apsara.pangu.master.namespace.NamespaceErrorCode;
import org.apsara.pangu.master.namespace.NamespaceException;
import org.apsara.pangu.master.namespace.NamespaceReply;
import org.apsara.pangu.master.raft.proto.ChunkRecord;
import org.apsara.pangu.master.raft.proto.ContentSummaryRecord;
import org.apsara.pangu.master.raft.proto.DeletedRecord;
import org.apsara.pangu.master.raft.proto.FileStatusRecord;
import org.apsara.pangu.master.raft.proto.LeasesRenewedRecord;
import org.apsara.pangu.master.raft.proto.ReclaimedRecord;
import org.apsara.pangu.master.raft.proto.Refusal;
import org.apsara.pangu.master.raft.proto.ReplyBatch;
import org.apsara.pangu.master.raft.proto.ReplyRecord;

/**
 * Turns a {@link NamespaceReply} into the bytes the state machine returns through Ratis, and
 * back. Decoding what was encoded gives an equal reply (a refusal's exception compares by code,
 * path and message). Stateless and thread-safe.
 */
final class ReplyCodec {
  private ReplyCodec() {}

  static byte[] encode(NamespaceReply reply) {
    return record(reply).toByteArray();
  }

  private static ReplyRecord record(NamespaceReply reply) {
    ReplyRecord.Builder b = ReplyRecord.newBuilder();
    if (reply instanceof NamespaceReply.Failed f) {
      b.setFailed(Refusal.newBuilder()
          .setCode(f.error().code().name())
          .setPath(f.error().path())
          .setMessage(messageWithoutCode(f.error())));
    } else if (reply instanceof NamespaceReply.AlreadyApplied a) {
      b.setAlreadyAppliedIndex(a.index());
    } else if (reply instanceof NamespaceReply.Status s) {
      b.setStatus(encode(s.status()));
    } else if (reply instanceof NamespaceReply.Chunk c) {
      b.setChunk(ChunkRecord.newBuilder()
          .setFileId(c.chunk().fileId())
          .setIndex(c.chunk().index())
          .setChunkId(c.chunk().chunkId())
          .setGeneration(c.chunk().generation())
          .setLengthBytes(c.chunk().lengthBytes())
          .setSealed(c.chunk().sealed()));
    } else if (reply instanceof NamespaceReply.LeasesRenewed r) {
      b.setLeasesRenewed(LeasesRenewedRecord.newBuilder()
          .setRenewed(r.renewed()).setExpired(r.expired()));
    } else if (reply instanceof NamespaceReply.Deleted d) {
      b.setDeleted(DeletedRecord.newBuilder()
          .setDetached(d.detached()).setGarbageChunks(d.garbageChunks()));
    } else if (reply instanceof NamespaceReply.Reclaimed r) {
      b.setReclaimed(ReclaimedRecord.newBuilder()
          .setInodesFreed(r.inodesFreed()).setGarbageChunks(r.garbageChunks()).setDone(r.done()));
    } else if (reply instanceof NamespaceReply.GarbageForgotten g) {
      b.setGarbageForgotten(g.chunks());
    } else if (reply instanceof NamespaceReply.Batch batch) {
      ReplyBatch.Builder replies = ReplyBatch.newBuilder();
      batch.replies().forEach(each -> replies.addReplies(record(each)));
      b.setBatch(replies);
    } else {
      throw new IllegalArgumentException("unknown reply " + reply);
    }
    return b.build();
  }

  static NamespaceReply decode(ByteBuffer bytes) throws InvalidProtocolBufferException {
    return decode(ReplyRecord.parseFrom(bytes));
  }

  private static NamespaceReply decode(ReplyRecord r) throws InvalidProtocolBufferException {
    return switch (r.getResultCase()) {
      case FAILED -> new NamespaceReply.Failed(new NamespaceException(
          NamespaceErrorCode.valueOf(r.getFailed().getCode()), r.getFailed().getPath(),
          r.getFailed().getMessage()));
      case ALREADY_APPLIED_INDEX -> new NamespaceReply.AlreadyApplied(r.getAlreadyAppliedIndex());
      case STATUS -> new NamespaceReply.Status(decode(r.getStatus()));
      case CHUNK -> new NamespaceReply.Chunk(new ChunkInfo(r.getChunk().getFileId(),
          r.getChunk().getIndex(), r.getChunk().getChunkId(), r.getChunk().getGeneration(),
          r.getChunk().getLengthBytes(), r.getChunk().getSealed()));
      case LEASES_RENEWED -> new NamespaceReply.LeasesRenewed(
          r.getLeasesRenewed().getRenewed(), r.getLeasesRenewed().getExpired());
      case DELETED -> new NamespaceReply.Deleted(
          r.getDeleted().getDetached(), r.getDeleted().getGarbageChunks());
      case RECLAIMED -> new NamespaceReply.Reclaimed(r.getReclaimed().getInodesFreed(),
          r.getReclaimed().getGarbageChunks(), r.getReclaimed().getDone());
      case GARBAGE_FORGOTTEN -> new NamespaceReply.GarbageForgotten(r.getGarbageForgotten());
      case BATCH -> {
        List<NamespaceReply> replies = new ArrayList<>(r.getBatch().getRepliesCount());
        for (ReplyRecord each : r.getBatch().getRepliesList()) {
          replies.add(decode(each));
        }
        yield new NamespaceReply.Batch(replies);
      }
      case RESULT_NOT_SET -> throw new InvalidProtocolBufferException("reply holds no result");
    };
  }

  /** {@link NamespaceException} prefixes its message with the code; the code travels apart. */
  private static String messageWithoutCode(NamespaceException e) {
    String prefix = e.code() + ": ";
    String message = e.getMessage();
    return message.startsWith(prefix) ? message.substring(prefix.length()) : message;
  }

  private static FileStatusRecord encode(FileStatus s) {
    FileStatusRecord.Builder b = FileStatusRecord.newBuilder()
        .setPath(s.path())
        .setInodeId(s.inodeId())
        .setDirectory(s.directory())
        .setMode(s.mode())
        .setOwner(s.owner())
        .setGroup(s.group())
        .setMtimeMs(s.mtimeMs())
        .setAtimeMs(s.atimeMs())
        .setLengthBytes(s.lengthBytes())
        .setReplication(s.replication())
        .setChunkSizeBytes(s.chunkSizeBytes())
        .setChunkCount(s.chunkCount())
        .setOpen(s.open())
        .setLastChunkOpen(s.lastChunkOpen())
        .setLeaseHolder(s.leaseHolder())
        .setLeaseExpiryMs(s.leaseExpiryMs())
        .setNameQuota(s.nameQuota())
        .setSpaceQuotaBytes(s.spaceQuotaBytes());
    if (s.usage() != null) {
      ContentSummary u = s.usage();
      b.setUsage(ContentSummaryRecord.newBuilder()
          .setFiles(u.files())
          .setDirectories(u.directories())
          .setLengthBytes(u.lengthBytes())
          .setSpaceConsumedBytes(u.spaceConsumedBytes())
          .setNameQuota(u.nameQuota())
          .setSpaceQuotaBytes(u.spaceQuotaBytes()));
    }
    return b.build();
  }

  private static FileStatus decode(FileStatusRecord s) {
    ContentSummary usage = null;
    if (s.hasUsage()) {
      ContentSummaryRecord u = s.getUsage();
      usage = new ContentSummary(u.getFiles(), u.getDirectories(), u.getLengthBytes(),
          u.getSpaceConsumedBytes(), u.getNameQuota(), u.getSpaceQuotaBytes());
    }
    return new FileStatus(s.getPath(), s.getInodeId(), s.getDirectory(), s.getMode(),
        s.getOwner(), s.getGroup(), s.getMtimeMs(), s.getAtimeMs(), s.getLengthBytes(),
        s.getReplication(), s.getChunkSizeBytes(), s.getChunkCount(), s.getOpen(),
        s.getLastChunkOpen(), s.getLeaseHolder(), s.getLeaseExpiryMs(), s.getNameQuota(),
        s.getSpaceQuotaBytes(), usage);
  }
}
