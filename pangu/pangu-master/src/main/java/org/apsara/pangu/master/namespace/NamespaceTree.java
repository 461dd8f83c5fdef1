package org.apsara.pangu.master.namespace;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.function.Consumer;
import org.apsara.pangu.master.namespace.proto.DirectoryCounts;
import org.apsara.pangu.master.namespace.proto.FileState;
import org.apsara.pangu.master.namespace.proto.Inode;
import org.apsara.pangu.master.namespace.proto.InodeKind;

/**
 * The namespace as a tree over one {@link NamespaceTxn}: resolving paths and file ids to inode
 * chains, the counters every directory keeps, quota checks and status views. Shared by the
 * apply, the leader's dry run and the reads, so all of them see the tree the same way.
 */
final class NamespaceTree {
  /** The root directory's inode id, fixed by the format. */
  static final long ROOT_ID = 1;
  /** The first id given to anything but the root. */
  static final long FIRST_INODE_ID = 2;
  /** The first chunk id. */
  static final long FIRST_CHUNK_ID = 1;
  /** Owner, group and mode of the root of a freshly formatted namespace. */
  static final String ROOT_OWNER = "pangu";
  static final String ROOT_GROUP = "supergroup";
  static final int ROOT_MODE = 0755;

  final NamespaceTxn txn;

  NamespaceTree(NamespaceTxn txn) {
    this.txn = txn;
  }

  /**
   * A chain of inodes from the root down: entry 0 is the root, entry i the inode of the path's
   * first i components. {@code found} entries exist; the chain is complete when {@code found}
   * equals the path's depth plus one.
   */
  static final class Chain {
    final long[] ids;
    final Inode[] inodes;
    int found;

    Chain(int length) {
      ids = new long[length];
      inodes = new Inode[length];
    }

    boolean complete() {
      return found == ids.length;
    }

    long id() {
      return ids[found - 1];
    }

    Inode inode() {
      return inodes[found - 1];
    }

    /** The path of entry {@code i} ("/" for the root), built from the stored names. */
    String pathOf(int i) {
      if (i == 0) {
        return "/";
      }
      StringBuilder sb = new StringBuilder();
      for (int j = 1; j <= i; j++) {
        sb.append('/').append(inodes[j].getName());
      }
      return sb.toString();
    }

    String path() {
      return pathOf(found - 1);
    }
  }

  /**
   * Resolves {@code path} as far as it exists. Throws {@link NamespaceErrorCode#NOT_A_DIRECTORY}
   * if a file stands where the path needs a directory.
   */
  Chain resolve(NamespacePath path) throws NamespaceException {
    Chain chain = new Chain(path.depth() + 1);
    chain.ids[0] = ROOT_ID;
    chain.inodes[0] = existing(ROOT_ID);
    chain.found = 1;
    for (int i = 0; i < path.depth(); i++) {
      Inode current = chain.inodes[i];
      if (!isDirectory(current)) {
        throw new NamespaceException(NamespaceErrorCode.NOT_A_DIRECTORY, path.toString(),
            path.prefix(i) + " is a file, not a directory (in path " + path + ")");
      }
      long child = txn.child(chain.ids[i], path.component(i));
      if (child == 0) {
        return chain;
      }
      chain.ids[i + 1] = child;
      chain.inodes[i + 1] = existing(child);
      chain.found = i + 2;
    }
    return chain;
  }

  /** Resolves an existing path or throws {@link NamespaceErrorCode#NOT_FOUND}. */
  Chain require(NamespacePath path) throws NamespaceException {
    Chain chain = resolve(path);
    if (!chain.complete()) {
      throw notFound(path, chain);
    }
    return chain;
  }

  static NamespaceException notFound(NamespacePath path, Chain chain) {
    String missing = path.prefix(chain.found);
    String message = missing.equals(path.toString())
        ? path + " does not exist"
        : path + " does not exist (" + missing + " does not exist)";
    return new NamespaceException(NamespaceErrorCode.NOT_FOUND, path.toString(), message);
  }

  /**
   * The chain from the root to the inode {@code id}, walking parent links up. An inode of a
   * deleted subtree (not reachable from the root any more) is {@link NamespaceErrorCode#NOT_FOUND}.
   */
  Chain locate(long id) throws NamespaceException {
    long[] ids = new long[NamespaceLimits.MAX_PATH_DEPTH + 1];
    Inode[] inodes = new Inode[ids.length];
    int n = 0;
    long current = id;
    while (true) {
      Inode inode = current <= 0 ? null : txn.inode(current);
      if (inode == null) {
        throw new NamespaceException(NamespaceErrorCode.NOT_FOUND, "",
            "file id " + id + " does not exist");
      }
      if (n == ids.length) {
        throw new NamespaceStorageException("inode " + id + " is deeper than the depth limit");
      }
      ids[n] = current;
      inodes[n] = inode;
      n++;
      if (current == ROOT_ID) {
        break;
      }
      current = inode.getParentId();
    }
    Chain chain = new Chain(n);
    for (int i = 0; i < n; i++) {
      chain.ids[i] = ids[n - 1 - i];
      chain.inodes[i] = inodes[n - 1 - i];
    }
    chain.found = n;
    return chain;
  }

  Inode existing(long id) {
    Inode inode = txn.inode(id);
    if (inode == null) {
      throw new NamespaceStorageException("dangling reference to inode " + id);
    }
    return inode;
  }

  /** Reads inode {@code id}, lets {@code change} edit it and stages the result. */
  Inode update(long id, Consumer<Inode.Builder> change) {
    Inode.Builder builder = existing(id).toBuilder();
    change.accept(builder);
    Inode updated = builder.build();
    txn.putInode(id, updated);
    return updated;
  }

  // ------------------------------------------------------------------ counters and quotas

  /** A change of subtree counters. */
  record Delta(long files, long directories, long lengthBytes, long spaceBytes) {
    static final Delta ZERO = new Delta(0, 0, 0, 0);

    Delta negate() {
      return new Delta(-files, -directories, -lengthBytes, -spaceBytes);
    }

    Delta plus(Delta o) {
      return new Delta(files + o.files, directories + o.directories,
          lengthBytes + o.lengthBytes, spaceBytes + o.spaceBytes);
    }

    long names() {
      return files + directories;
    }
  }

  /** Raw space a file is charged. */
  static long spaceOf(Inode file) {
    long open = file.getLastChunkOpen() ? file.getChunkSizeBytes() : 0;
    return (long) file.getReplication() * (file.getLengthBytes() + open);
  }

  /** What the subtree rooted at {@code inode} adds to the counters of its ancestors. */
  static Delta deltaOf(Inode inode) {
    if (isDirectory(inode)) {
      DirectoryCounts c = inode.getCounts();
      return new Delta(c.getFiles(), c.getDirectories(), c.getLengthBytes(), c.getSpaceBytes());
    }
    return new Delta(1, 0, inode.getLengthBytes(), spaceOf(inode));
  }

  /**
   * Refuses the change if adding {@code delta} would exceed a quota of the chain's entries
   * {@code from} (inclusive) to {@code to} (exclusive). Only growth is checked: a change that
   * frees names or space is always allowed, even under a quota set below the current usage.
   */
  static void checkQuotas(Chain chain, int from, int to, Delta delta, String subject)
      throws NamespaceException {
    for (int i = from; i < to; i++) {
      Inode dir = chain.inodes[i];
      DirectoryCounts c = dir.getCounts();
      if (delta.names() > 0 && dir.hasNameQuota()) {
        long usage = c.getFiles() + c.getDirectories();
        if (usage + delta.names() > dir.getNameQuota()) {
          throw new NamespaceException(NamespaceErrorCode.NAME_QUOTA_EXCEEDED, subject,
              "name quota of " + chain.pathOf(i) + " exceeded by " + subject + ": limit "
                  + dir.getNameQuota() + ", usage " + usage + ", adding " + delta.names());
        }
      }
      if (delta.spaceBytes() > 0 && dir.hasSpaceQuotaBytes()) {
        long usage = c.getSpaceBytes();
        if (usage + delta.spaceBytes() > dir.getSpaceQuotaBytes()) {
          throw new NamespaceException(NamespaceErrorCode.SPACE_QUOTA_EXCEEDED, subject,
              "space quota of " + chain.pathOf(i) + " exceeded by " + subject + ": limit "
                  + dir.getSpaceQuotaBytes() + " bytes, usage " + usage + " bytes, adding "
                  + delta.spaceBytes() + " bytes");
        }
      }
    }
  }

  /** Adds {@code delta} to the counters of the chain's entries {@code from} to {@code to}. */
  void adjustCounts(Chain chain, int from, int to, Delta delta) {
    if (delta.equals(Delta.ZERO)) {
      return;
    }
    for (int i = from; i < to; i++) {
      update(chain.ids[i], b -> {
        DirectoryCounts c = b.getCounts();
        b.setCounts(DirectoryCounts.newBuilder()
            .setFiles(c.getFiles() + delta.files())
            .setDirectories(c.getDirectories() + delta.directories())
            .setLengthBytes(c.getLengthBytes() + delta.lengthBytes())
            .setSpaceBytes(c.getSpaceBytes() + delta.spaceBytes()));
      });
    }
  }

  // ------------------------------------------------------------------ views

  static boolean isDirectory(Inode inode) {
    return inode.getKind() == InodeKind.INODE_KIND_DIRECTORY;
  }

  static boolean isOpen(Inode inode) {
    return inode.getState() == FileState.FILE_STATE_OPEN;
  }

  static String describeExpiry(long expiryMs) {
    return Instant.ofEpochMilli(expiryMs) + " (" + expiryMs + " ms)";
  }

  static ContentSummary summaryOf(Inode inode) {
    if (isDirectory(inode)) {
      DirectoryCounts c = inode.getCounts();
      return new ContentSummary(c.getFiles(), c.getDirectories(), c.getLengthBytes(),
          c.getSpaceBytes(),
          inode.hasNameQuota() ? inode.getNameQuota() : FileStatus.NO_QUOTA,
          inode.hasSpaceQuotaBytes() ? inode.getSpaceQuotaBytes() : FileStatus.NO_QUOTA);
    }
    return new ContentSummary(1, 0, inode.getLengthBytes(), spaceOf(inode),
        FileStatus.NO_QUOTA, FileStatus.NO_QUOTA);
  }

  static FileStatus statusOf(String path, long id, Inode inode) {
    boolean dir = isDirectory(inode);
    return new FileStatus(
        path,
        id,
        dir,
        inode.getMode(),
        inode.getOwner(),
        inode.getGroup(),
        inode.getMtimeMs(),
        inode.getAtimeMs(),
        inode.getLengthBytes(),
        inode.getReplication(),
        inode.getChunkSizeBytes(),
        inode.getChunkCount(),
        isOpen(inode),
        inode.getLastChunkOpen(),
        inode.getLeaseHolder(),
        inode.getLeaseExpiryMs(),
        inode.hasNameQuota() ? inode.getNameQuota() : FileStatus.NO_QUOTA,
        inode.hasSpaceQuotaBytes() ? inode.getSpaceQuotaBytes() : FileStatus.NO_QUOTA,
        dir ? summaryOf(inode) : null);
  }

  /** Validates a client, owner or group name. */
  static void checkPrincipal(String what, String name, String path) throws NamespaceException {
    if (name.isEmpty()) {
      throw new NamespaceException(NamespaceErrorCode.INVALID_ARGUMENT, path,
          "a " + what + " name is required");
    }
    byte[] utf8 = name.getBytes(StandardCharsets.UTF_8);
    if (utf8.length > NamespaceLimits.MAX_PRINCIPAL_NAME_BYTES) {
      throw new NamespaceException(NamespaceErrorCode.INVALID_ARGUMENT, path,
          what + " name is " + utf8.length + " bytes, more than the limit of "
              + NamespaceLimits.MAX_PRINCIPAL_NAME_BYTES);
    }
    if (name.indexOf('\0') >= 0 || !new String(utf8, StandardCharsets.UTF_8).equals(name)) {
      throw new NamespaceException(NamespaceErrorCode.INVALID_ARGUMENT, path,
          what + " name must be valid Unicode without NUL");
    }
  }
}
