package org.apsara.pangu.master.namespace;

import static org.apsara.pangu.master.namespace.NamespaceErrorCode.ALREADY_EXISTS;
import static org.apsara.pangu.master.namespace.NamespaceErrorCode.CHUNK_MISMATCH;
import static org.apsara.pangu.master.namespace.NamespaceErrorCode.CHUNK_NOT_COMMITTED;
import static org.apsara.pangu.master.namespace.NamespaceErrorCode.DIRECTORY_NOT_EMPTY;
import static org.apsara.pangu.master.namespace.NamespaceErrorCode.IS_A_DIRECTORY;
import static org.apsara.pangu.master.namespace.NamespaceErrorCode.LEASE_EXPIRED;
import static org.apsara.pangu.master.namespace.NamespaceErrorCode.LEASE_HELD_BY_OTHER;
import static org.apsara.pangu.master.namespace.NamespaceErrorCode.NAME_QUOTA_EXCEEDED;
import static org.apsara.pangu.master.namespace.NamespaceErrorCode.NOT_A_DIRECTORY;
import static org.apsara.pangu.master.namespace.NamespaceErrorCode.NOT_FOUND;
import static org.apsara.pangu.master.namespace.NamespaceErrorCode.NOT_LEASE_HOLDER;
import static org.apsara.pangu.master.namespace.NamespaceErrorCode.RENAME_INTO_OWN_SUBTREE;
import static org.apsara.pangu.master.namespace.NamespaceErrorCode.ROOT_NOT_ALLOWED;
import static org.apsara.pangu.master.namespace.NamespaceErrorCode.SPACE_QUOTA_EXCEEDED;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * A deliberately naive namespace: a sorted map from path to node, every question answered by
 * scanning it. Written from the documented semantics, independently of the RocksDB layout, so the
 * two can be compared operation by operation. Only what the property generates is modelled
 * (valid modes, owners, chunk sizes; few open files).
 */
final class ReferenceModel {
  static final long LEASE_MS = TestNamespace.LEASE.toMillis();

  static final class Node {
    final boolean dir;
    int mode;
    long length;
    int replication;
    long chunkSize;
    /** Each chunk: {chunk id, length, sealed (0 or 1)}. */
    final List<long[]> chunks = new ArrayList<>();
    boolean open;
    String holder = "";
    long expiry;
    long nameQuota = -1;
    long spaceQuota = -1;
    long realId;

    Node(boolean dir, int mode) {
      this.dir = dir;
      this.mode = mode;
    }

    boolean lastChunkOpen() {
      return !chunks.isEmpty() && chunks.get(chunks.size() - 1)[2] == 0;
    }

    long space() {
      return replication * (length + (lastChunkOpen() ? chunkSize : 0));
    }
  }

  /** A refusal the model predicts. */
  static final class Refused extends Exception {
    private static final long serialVersionUID = 1L;
    final NamespaceErrorCode code;

    Refused(NamespaceErrorCode code) {
      super(code.name(), null, false, false);
      this.code = code;
    }
  }

  final TreeMap<String, Node> nodes = new TreeMap<>();
  final Set<Long> allocatedChunks = new HashSet<>();
  long timeMs;

  ReferenceModel() {
    nodes.put("/", new Node(true, 0755));
  }

  // ------------------------------------------------------------------ paths

  static String parent(String path) {
    int slash = path.lastIndexOf('/');
    return slash == 0 ? "/" : path.substring(0, slash);
  }

  static int depth(String path) {
    return path.equals("/") ? 0 : (int) path.chars().filter(c -> c == '/').count();
  }

  /** "/", "/a", "/a/b" for "/a/b/c": the path's ancestors, root first, and then the path. */
  static List<String> chain(String path) {
    List<String> chain = new ArrayList<>();
    chain.add("/");
    if (path.equals("/")) {
      return chain;
    }
    int i = 0;
    while ((i = path.indexOf('/', i + 1)) > 0) {
      chain.add(path.substring(0, i));
    }
    chain.add(path);
    return chain;
  }

  static boolean isUnder(String path, String ancestor) {
    return ancestor.equals("/") ? !path.equals("/") : path.startsWith(ancestor + "/");
  }

  /** How many entries of {@link #chain} exist; a file with more components below refuses. */
  int resolve(String path) throws Refused {
    List<String> chain = chain(path);
    int found = 1;
    for (int i = 1; i < chain.size(); i++) {
      if (!nodes.get(chain.get(i - 1)).dir) {
        throw new Refused(NOT_A_DIRECTORY);
      }
      if (!nodes.containsKey(chain.get(i))) {
        return found;
      }
      found++;
    }
    return found;
  }

  Node require(String path) throws Refused {
    if (resolve(path) < depth(path) + 1) {
      throw new Refused(NOT_FOUND);
    }
    return nodes.get(path);
  }

  List<String> subtree(String path) {
    List<String> paths = new ArrayList<>();
    for (String p : nodes.tailMap(path, true).keySet()) {
      if (p.equals(path) || isUnder(p, path)) {
        paths.add(p);
      } else if (!path.equals("/")) {
        break;
      }
    }
    return paths;
  }

  /** {files, directories, length, space} of the subtree: a recount. */
  long[] count(String path) {
    long[] c = new long[4];
    for (String p : subtree(path)) {
      Node n = nodes.get(p);
      if (n.dir) {
        c[1]++;
      } else {
        c[0]++;
        c[2] += n.length;
        c[3] += n.space();
      }
    }
    return c;
  }

  void checkQuotas(List<String> dirs, long names, long space) throws Refused {
    for (String d : dirs) {
      Node n = nodes.get(d);
      long[] c = count(d);
      if (names > 0 && n.nameQuota >= 0 && c[0] + c[1] + names > n.nameQuota) {
        throw new Refused(NAME_QUOTA_EXCEEDED);
      }
      if (space > 0 && n.spaceQuota >= 0 && c[3] + space > n.spaceQuota) {
        throw new Refused(SPACE_QUOTA_EXCEEDED);
      }
    }
  }

  private boolean expired(Node file) {
    return timeMs >= file.expiry;
  }

  private void recover(Node file) {
    if (file.lastChunkOpen()) {
      file.chunks.remove(file.chunks.size() - 1);
    }
    file.open = false;
    file.holder = "";
    file.expiry = 0;
  }

  private Node checkWriter(String path, String client) throws Refused {
    Node file = nodes.get(path);
    if (!file.open || !file.holder.equals(client)) {
      throw new Refused(NOT_LEASE_HOLDER);
    }
    if (expired(file)) {
      throw new Refused(LEASE_EXPIRED);
    }
    return file;
  }

  // ------------------------------------------------------------------ operations

  void mkdirs(String path, int mode) throws Refused {
    int found = resolve(path);
    List<String> chain = chain(path);
    if (found == chain.size()) {
      if (!nodes.get(path).dir) {
        throw new Refused(ALREADY_EXISTS);
      }
      return;
    }
    checkQuotas(chain.subList(0, found), chain.size() - found, 0);
    for (int i = found; i < chain.size(); i++) {
      nodes.put(chain.get(i), new Node(true, mode));
    }
  }

  Node create(String path, String client, boolean overwrite, int replication, long chunkSize)
      throws Refused {
    if (path.equals("/")) {
      throw new Refused(IS_A_DIRECTORY);
    }
    int found = resolve(path);
    int depth = depth(path);
    if (found < depth) {
      throw new Refused(NOT_FOUND);
    }
    Node old = nodes.get(path);
    if (old != null) {
      if (old.dir) {
        throw new Refused(IS_A_DIRECTORY);
      }
      if (!overwrite) {
        throw new Refused(ALREADY_EXISTS);
      }
      if (old.open && !old.holder.equals(client) && !expired(old)) {
        throw new Refused(LEASE_HELD_BY_OTHER);
      }
    } else {
      checkQuotas(chain(path).subList(0, depth), 1, 0);
    }
    Node file = new Node(false, 0644);
    file.replication = replication;
    file.chunkSize = chunkSize;
    file.open = true;
    file.holder = client;
    file.expiry = timeMs + LEASE_MS;
    nodes.put(path, file);
    return file;
  }

  void append(String path, String client) throws Refused {
    Node file = require(path);
    if (file.dir) {
      throw new Refused(IS_A_DIRECTORY);
    }
    if (file.open && !expired(file)) {
      if (!file.holder.equals(client)) {
        throw new Refused(LEASE_HELD_BY_OTHER);
      }
      file.expiry = Math.max(file.expiry, timeMs + LEASE_MS);
      return;
    }
    if (file.open && file.lastChunkOpen()) {
      throw new Refused(CHUNK_NOT_COMMITTED);
    }
    if (file.open) {
      recover(file);
    }
    file.open = true;
    file.holder = client;
    file.expiry = timeMs + LEASE_MS;
  }

  void addChunk(String path, String client, long chunkId) throws Refused {
    Node file = checkWriter(path, client);
    if (file.lastChunkOpen()) {
      throw new Refused(CHUNK_NOT_COMMITTED);
    }
    checkQuotas(chain(path).subList(0, depth(path)), 0, (long) file.replication * file.chunkSize);
    file.chunks.add(new long[] {chunkId, 0, 0});
    allocatedChunks.add(chunkId);
  }

  void commit(String path, String client, long length) throws Refused {
    Node file = checkWriter(path, client);
    long[] last = file.chunks.get(file.chunks.size() - 1);
    if (last[2] == 1) {
      if (last[1] != length) {
        throw new Refused(CHUNK_MISMATCH);
      }
      return;
    }
    last[1] = length;
    last[2] = 1;
    file.length += length;
  }

  void close(String path, String client) throws Refused {
    Node file = checkWriter(path, client);
    if (file.lastChunkOpen()) {
      throw new Refused(CHUNK_NOT_COMMITTED);
    }
    file.open = false;
    file.holder = "";
    file.expiry = 0;
  }

  /** {renewed, expired}. */
  int[] renew(String client) {
    int[] result = new int[2];
    for (Node n : nodes.values()) {
      if (!n.dir && n.open && n.holder.equals(client)) {
        if (expired(n)) {
          result[1]++;
        } else {
          n.expiry = Math.max(n.expiry, timeMs + LEASE_MS);
          result[0]++;
        }
      }
    }
    return result;
  }

  void recoverLease(String path, String client) throws Refused {
    Node file = require(path);
    if (file.dir) {
      throw new Refused(IS_A_DIRECTORY);
    }
    if (!file.open) {
      return;
    }
    if (!file.holder.equals(client) && !expired(file)) {
      throw new Refused(LEASE_HELD_BY_OTHER);
    }
    recover(file);
  }

  void rename(String src, String dst) throws Refused {
    if (src.equals("/") || dst.equals("/")) {
      throw new Refused(ROOT_NOT_ALLOWED);
    }
    Node moved = require(src);
    if (moved.dir && isUnder(dst, src)) {
      throw new Refused(RENAME_INTO_OWN_SUBTREE);
    }
    int found = resolve(dst);
    int dstDepth = depth(dst);
    if (found < dstDepth) {
      throw new Refused(NOT_FOUND);
    }
    if (found == dstDepth + 1) {
      throw new Refused(ALREADY_EXISTS);
    }
    List<String> from = chain(src).subList(0, depth(src));
    List<String> to = chain(dst).subList(0, dstDepth);
    int common = 0;
    while (common < from.size() && common < to.size() && from.get(common).equals(to.get(common))) {
      common++;
    }
    long[] c = count(src);
    checkQuotas(to.subList(common, to.size()), c[0] + c[1], c[3]);
    Map<String, Node> movedNodes = new TreeMap<>();
    for (String p : subtree(src)) {
      movedNodes.put(dst + p.substring(src.length()), nodes.remove(p));
    }
    nodes.putAll(movedNodes);
  }

  void delete(String path, boolean recursive) throws Refused {
    if (path.equals("/")) {
      throw new Refused(ROOT_NOT_ALLOWED);
    }
    Node target = require(path);
    List<String> doomed = subtree(path);
    if (target.dir && !recursive && doomed.size() > 1) {
      throw new Refused(DIRECTORY_NOT_EMPTY);
    }
    doomed.forEach(nodes::remove);
  }

  void setQuota(String path, long names, long space) throws Refused {
    Node dir = require(path);
    if (!dir.dir) {
      throw new Refused(NOT_A_DIRECTORY);
    }
    dir.nameQuota = names;
    dir.spaceQuota = space;
  }

  void setPermission(String path, int mode) throws Refused {
    require(path).mode = mode;
  }

  /** Chunk ids still referenced by a file. */
  Set<Long> liveChunks() {
    Set<Long> live = new HashSet<>();
    for (Node n : nodes.values()) {
      for (long[] c : n.chunks) {
        live.add(c[0]);
      }
    }
    return live;
  }
}
