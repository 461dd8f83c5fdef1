package org.apsara.pangu.master.namespace;

import static org.apsara.pangu.master.namespace.TestNamespace.GROUP;
import static org.apsara.pangu.master.namespace.TestNamespace.OWNER;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * A seeded mix of every kind of record, valid and refused, for the determinism and snapshot
 * tests: what matters there is that the log exercises every path of the apply.
 */
final class RandomWorkload {
  private static final String[] NAMES = {"a", "b", "c", "d"};
  private static final String[] CLIENTS = {"c1", "c2", "c3"};

  private final TestNamespace ns;
  private final Random random;
  /** Files created, as {inode id, client index}. */
  private final List<long[]> files = new ArrayList<>();
  /** The last chunk allocated to each file. */
  private final Map<Long, ChunkInfo> lastChunks = new HashMap<>();

  RandomWorkload(TestNamespace ns, long seed) {
    this.ns = ns;
    this.random = new Random(seed);
  }

  private String path() {
    int depth = 1 + random.nextInt(3);
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < depth; i++) {
      sb.append('/').append(NAMES[random.nextInt(NAMES.length)]);
    }
    return sb.toString();
  }

  private String client() {
    return CLIENTS[random.nextInt(CLIENTS.length)];
  }

  /** Runs {@code steps} commands; refused proposals are dropped, as a leader would. */
  void run(int steps) {
    for (int i = 0; i < steps; i++) {
      // One command in five skips the leader's check, so refused records reach the log too.
      NamespaceProposer proposer = random.nextInt(5) == 0 ? ns.unchecked : ns.proposer;
      try {
        step(proposer);
      } catch (NamespaceException refusedByTheLeader) {
        // Not in the log: nothing to replay.
      }
    }
  }

  private void step(NamespaceProposer p) throws NamespaceException {
    long[] file = files.isEmpty() ? null : files.get(random.nextInt(files.size()));
    String fileClient = file == null ? client() : CLIENTS[(int) file[1]];
    switch (random.nextInt(16)) {
      case 0, 1 -> ns.apply(p.mkdirs(path(), 0755, OWNER, GROUP));
      case 2, 3 -> {
        int c = random.nextInt(CLIENTS.length);
        NamespaceReply reply = ns.apply(p.create(path(), CLIENTS[c], random.nextBoolean(),
            1 + random.nextInt(3), TestNamespace.CHUNK, 0644, OWNER, GROUP));
        if (reply instanceof NamespaceReply.Status s) {
          files.add(new long[] {s.status().inodeId(), c});
        }
      }
      case 4, 5 -> {
        if (file != null
            && ns.apply(p.addChunk(file[0], fileClient)) instanceof NamespaceReply.Chunk c) {
          lastChunks.put(file[0], c.chunk());
        }
      }
      case 6, 7 -> {
        ChunkInfo last = file == null ? null : lastChunks.get(file[0]);
        if (last != null) {
          ns.apply(p.commitChunk(file[0], fileClient, last.index(), last.chunkId(),
              1 + random.nextInt(2), random.nextInt((int) TestNamespace.CHUNK)));
        }
      }
      case 8 -> {
        if (file != null) {
          ns.apply(p.close(file[0], fileClient));
        }
      }
      case 9 -> ns.apply(switch (random.nextInt(3)) {
        case 0 -> p.renewLease(client());
        case 1 -> p.recoverLease(path(), client());
        default -> p.recoverLeaseDroppingLastChunk(path(), client());
      });
      case 10 -> ns.apply(p.rename(path(), path()));
      case 11 -> ns.apply(p.delete(path(), random.nextInt(3) > 0));
      case 12 -> ns.apply(p.setQuota(path(), random.nextBoolean() ? -1 : 2 + random.nextInt(8),
          random.nextBoolean() ? -1 : random.nextInt(10) * TestNamespace.CHUNK));
      case 13 -> ns.apply(switch (random.nextInt(4)) {
        case 0 -> p.setTimes(path(), random.nextInt(1000), -1);
        case 1 -> p.setPermission(path(), random.nextInt(0777));
        case 2 -> p.setOwner(path(), "u" + random.nextInt(3), "");
        default -> p.append(path(), client());
      });
      case 14 -> {
        if (ns.namespace.reclaimPending()) {
          ns.apply(p.reclaimDeleted());
        } else {
          List<Long> ids = new ArrayList<>();
          ns.namespace.garbageChunks(0, 5).forEach(g -> ids.add(g.chunkId()));
          ns.apply(p.forgetGarbageChunks(ids));
        }
      }
      default -> ns.clock.advance(Duration.ofSeconds(random.nextInt(40)));
    }
  }
}
