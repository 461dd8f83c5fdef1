package org.apsara.pangu.chunkserver.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChunkServerIdentityTest {
  @TempDir Path directory;

  @Test
  void generatedOnceWrittenToEveryVolumeAndKept() throws IOException {
    Path a = directory.resolve("a");
    Path b = directory.resolve("b");
    String id = ChunkServerIdentity.loadOrCreate(List.of(a, b), ChunkServerIdentity::generate);
    assertThat(id).startsWith("cs-");
    assertThat(Files.readString(a.resolve(ChunkServerIdentity.FILE_NAME)).strip()).isEqualTo(id);
    assertThat(Files.readString(b.resolve(ChunkServerIdentity.FILE_NAME)).strip()).isEqualTo(id);
    assertThat(ChunkServerIdentity.loadOrCreate(List.of(a, b), () -> "cs-other"))
        .isEqualTo(id);
  }

  @Test
  void aNewVolumeTakesTheIdOfTheOthers() throws IOException {
    Path a = directory.resolve("a");
    String id = ChunkServerIdentity.loadOrCreate(List.of(a), () -> "cs-first");
    Path added = directory.resolve("added");
    assertThat(ChunkServerIdentity.loadOrCreate(List.of(added, a), () -> "cs-second"))
        .isEqualTo(id).isEqualTo("cs-first");
    assertThat(Files.readString(added.resolve(ChunkServerIdentity.FILE_NAME)).strip())
        .isEqualTo("cs-first");
  }

  @Test
  void volumesOfDifferentChunkServersRefuseToStart() throws IOException {
    Path a = directory.resolve("a");
    Path b = directory.resolve("b");
    ChunkServerIdentity.loadOrCreate(List.of(a), () -> "cs-one");
    ChunkServerIdentity.loadOrCreate(List.of(b), () -> "cs-two");
    assertThatThrownBy(() -> ChunkServerIdentity.loadOrCreate(List.of(a, b), () -> "cs-new"))
        .isInstanceOf(IOException.class)
        .hasMessageContaining(a + " holds chunkserver id cs-one")
        .hasMessageContaining(b + " holds cs-two")
        .hasMessageContaining("Remove it from the configuration");
  }

  @Test
  void aDamagedIdFileIsRefusedNotReplaced() throws IOException {
    Path a = directory.resolve("a");
    Files.createDirectories(a);
    Files.writeString(a.resolve(ChunkServerIdentity.FILE_NAME), "not an id!\n");
    assertThatThrownBy(() -> ChunkServerIdentity.loadOrCreate(List.of(a), () -> "cs-new"))
        .isInstanceOf(IOException.class).hasMessageContaining("does not hold a chunkserver id");
  }
}
