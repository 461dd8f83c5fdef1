package org.apsara.pangu.master.namespace;

import static org.apsara.pangu.master.namespace.NamespaceErrorCode.INVALID_ARGUMENT;
import static org.apsara.pangu.master.namespace.NamespaceErrorCode.NAME_QUOTA_EXCEEDED;
import static org.apsara.pangu.master.namespace.NamespaceErrorCode.NOT_A_DIRECTORY;
import static org.apsara.pangu.master.namespace.NamespaceErrorCode.NOT_FOUND;
import static org.apsara.pangu.master.namespace.NamespaceErrorCode.SPACE_QUOTA_EXCEEDED;
import static org.apsara.pangu.master.namespace.TestNamespace.CHUNK;
import static org.apsara.pangu.master.namespace.TestNamespace.GROUP;
import static org.apsara.pangu.master.namespace.TestNamespace.OWNER;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class QuotaTest {
  @TempDir Path dir;
  TestNamespace ns;

  @BeforeEach
  void open() {
    ns = new TestNamespace(dir.resolve("ns"));
  }

  @AfterEach
  void close() {
    ns.close();
  }

  @Test
  void setQuotaValidatesAndReportsUsage() throws Exception {
    ns.mkdirs("/q/sub");
    FileStatus q = ns.status(p -> p.setQuota("/q", 10, 1 << 20));
    assertThat(q.nameQuota()).isEqualTo(10);
    assertThat(q.spaceQuotaBytes()).isEqualTo(1 << 20);
    assertThat(q.usage().names()).isEqualTo(2);
    assertThat(ns.namespace.contentSummary("/q"))
        .isEqualTo(new ContentSummary(0, 2, 0, 0, 10, 1 << 20));
    FileStatus cleared = ns.status(p -> p.setQuota("/q", -1, -1));
    assertThat(cleared.nameQuota()).isEqualTo(FileStatus.NO_QUOTA);
    assertThat(cleared.spaceQuotaBytes()).isEqualTo(FileStatus.NO_QUOTA);

    ns.writeFile("/f", "c");
    ns.assertRefused(NOT_A_DIRECTORY, p -> p.setQuota("/f", 5, 5), "cannot set a quota on file /f");
    ns.assertRefused(NOT_FOUND, p -> p.setQuota("/nope", 5, 5));
    ns.assertRefused(INVALID_ARGUMENT, p -> p.setQuota("/q", 0, 5), "name quota 0");
    ns.assertRefused(INVALID_ARGUMENT, p -> p.setQuota("/q", 5, -2), "space quota -2");
  }

  @Test
  void nameQuotasHoldOnMkdirsCreateAndRenameAlongAllAncestors() throws Exception {
    ns.mkdirs("/outer/inner");
    ns.mkdirs("/elsewhere/x/y");
    // /outer counts itself and /outer/inner: room for two more names.
    ns.run(p -> p.setQuota("/outer", 4, -1));
    ns.mkdirs("/outer/inner/a");
    ns.create("/outer/inner/f", "c");
    ns.assertRefused(NAME_QUOTA_EXCEEDED, p -> p.mkdirs("/outer/inner/b", 0755, OWNER, GROUP),
        "name quota of /outer exceeded by /outer/inner/b: limit 4, usage 4, adding 1");
    ns.assertRefused(NAME_QUOTA_EXCEEDED,
        p -> p.create("/outer/g", "c", false, 3, CHUNK, 0644, OWNER, GROUP), "limit 4, usage 4");
    ns.assertRefused(NAME_QUOTA_EXCEEDED, p -> p.rename("/elsewhere/x", "/outer/inner/x"),
        "adding 2");
    // Moving within the quota directory changes no usage.
    ns.status(p -> p.rename("/outer/inner/a", "/outer/a"));
    // Renaming out frees names.
    ns.status(p -> p.rename("/outer/a", "/elsewhere/a"));
    ns.mkdirs("/outer/inner/b");
    assertThat(ns.namespace.contentSummary("/outer").names()).isEqualTo(4);

    // A quota set below the usage refuses growth but allows what shrinks.
    ns.run(p -> p.setQuota("/outer", 100, -1));
    ns.run(p -> p.setQuota("/outer/inner", 1, -1));
    ns.assertRefused(NAME_QUOTA_EXCEEDED, p -> p.mkdirs("/outer/inner/c/d", 0755, OWNER, GROUP),
        "name quota of /outer/inner");
    ns.delete("/outer/inner/b", false);
  }

  @Test
  void spaceQuotasChargeWholeChunksUntilCommitted() throws Exception {
    ns.mkdirs("/q");
    // Room for two uncommitted chunks at replication 1, not three.
    ns.run(p -> p.setQuota("/q", -1, 2 * CHUNK + 100));
    FileStatus a = ns.create("/q/a", "c", false, 1);
    FileStatus b = ns.create("/q/b", "c", false, 1);
    ChunkInfo ca = ns.addChunk(a.inodeId(), "c");
    ns.addChunk(b.inodeId(), "c");
    FileStatus c = ns.create("/q/c", "c", false, 1);
    ns.assertRefused(SPACE_QUOTA_EXCEEDED, p -> p.addChunk(c.inodeId(), "c"),
        "space quota of /q exceeded by /q/c: limit " + (2 * CHUNK + 100) + " bytes, usage "
            + (2 * CHUNK) + " bytes, adding " + CHUNK + " bytes");
    // Committing a short chunk gives the unused reservation back.
    ns.commit(ca, "c", 100);
    ns.addChunk(c.inodeId(), "c");
    assertThat(ns.namespace.contentSummary("/q").spaceConsumedBytes()).isEqualTo(2 * CHUNK + 100);

    ns.mkdirs("/big");
    ns.writeFile("/big/f", "c", 10);
    ns.assertRefused(SPACE_QUOTA_EXCEEDED, p -> p.rename("/big", "/q/big"), "adding 30 bytes");
  }
}
