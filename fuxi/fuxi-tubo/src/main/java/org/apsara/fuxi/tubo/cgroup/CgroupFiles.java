package org.apsara.fuxi.tubo.cgroup;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * The file operations the drivers make on a cgroup file system, in one place so that a test can
 * lay out a directory like cgroupfs (where making a directory makes its control files) and see
 * what the drivers write where.
 *
 * <p>cgroupfs acts on each write(2) as a whole, so a value is written with one call, without
 * creating or truncating the file.
 */
class CgroupFiles {

  void mkdir(Path dir) throws IOException {
    Files.createDirectory(dir);
  }

  /** Removes a group directory: rmdir(2), which cgroupfs allows although control files remain. */
  void rmdir(Path dir) throws IOException {
    Files.delete(dir);
  }

  boolean exists(Path path) {
    return Files.exists(path);
  }

  String read(Path file) throws IOException {
    return Files.readString(file, StandardCharsets.UTF_8);
  }

  void write(Path file, String value) throws IOException {
    try (OutputStream out = Files.newOutputStream(file, StandardOpenOption.WRITE)) {
      out.write(value.getBytes(StandardCharsets.UTF_8));
    }
  }

  /** The names of the subdirectories of {@code dir}: child groups. Empty if it does not exist. */
  List<String> childGroups(Path dir) throws IOException {
    List<String> names = new ArrayList<>();
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
      for (Path entry : entries) {
        if (Files.isDirectory(entry)) {
          names.add(entry.getFileName().toString());
        }
      }
    } catch (NoSuchFileException e) {
      return List.of();
    }
    return names;
  }
}
