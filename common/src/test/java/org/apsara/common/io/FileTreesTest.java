package org.apsara.common.io;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileTreesTest {
  @TempDir
  Path dir;

  @Test
  void deletesATreeButNotWhatALinkInItPointsTo() throws Exception {
    Path outside = Files.writeString(dir.resolve("outside"), "kept");
    Path root = dir.resolve("root");
    Files.createDirectories(root.resolve("a/b"));
    Files.writeString(root.resolve("a/b/file"), "gone");
    Files.writeString(root.resolve("top"), "gone");
    Files.createSymbolicLink(root.resolve("a/link"), outside);

    FileTrees.delete(root);

    assertThat(root).doesNotExist();
    assertThat(outside).hasContent("kept");
  }

  @Test
  void aMissingTreeIsNothingToDelete() throws Exception {
    FileTrees.delete(dir.resolve("never-made"));

    assertThat(dir).isEmptyDirectory();
  }
}
