package org.apsara.fuxi.tubo.cgroup;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * The cgroup hierarchies mounted on this machine, read from a mountinfo table, and the groups a
 * process belongs to, read from its {@code /proc/<pid>/cgroup}. Immutable.
 */
public final class CgroupMounts {
  /** Mount options of a v1 mount that are not controllers. */
  private static final Set<String> NON_CONTROLLER_OPTIONS =
      Set.of("rw", "ro", "noprefix", "clone_children", "cpuset_v2_mode", "xattr");

  /** One cgroup mount: where, which part of the hierarchy it shows, and its v1 controllers. */
  public record Mount(Path mountPoint, String root, boolean unified, Set<String> controllers) {}

  private final List<Mount> mounts;

  private CgroupMounts(List<Mount> mounts) {
    this.mounts = List.copyOf(mounts);
  }

  /** Reads a mountinfo file such as {@code /proc/self/mountinfo}. */
  public static CgroupMounts read(Path mountinfo) throws IOException {
    return parse(Files.readString(mountinfo));
  }

  /**
   * Parses mountinfo lines: {@code id parent major:minor root mountpoint options [optional...] -
   * fstype source superoptions}. Lines of other file systems are skipped, as are lines that do
   * not have that shape.
   */
  public static CgroupMounts parse(String mountinfo) {
    List<Mount> found = new ArrayList<>();
    for (String line : mountinfo.split("\n")) {
      String[] fields = line.trim().split(" ");
      int dash = -1;
      for (int i = 6; i < fields.length; i++) {
        if (fields[i].equals("-")) {
          dash = i;
          break;
        }
      }
      if (dash < 0 || fields.length < dash + 4) {
        continue;
      }
      String fsType = fields[dash + 1];
      Path mountPoint = Path.of(unescape(fields[4]));
      String root = unescape(fields[3]);
      if (fsType.equals("cgroup2")) {
        found.add(new Mount(mountPoint, root, true, Set.of()));
      } else if (fsType.equals("cgroup")) {
        Set<String> controllers = new TreeSet<>();
        for (String option : fields[dash + 3].split(",")) {
          if (!NON_CONTROLLER_OPTIONS.contains(option) && !option.startsWith("name=")
              && !option.startsWith("release_agent=")) {
            controllers.add(option);
          }
        }
        found.add(new Mount(mountPoint, root, false, Set.copyOf(controllers)));
      }
    }
    return new CgroupMounts(found);
  }

  public List<Mount> mounts() {
    return mounts;
  }

  /** The first cgroup2 mount, if any. */
  public Optional<Mount> unified() {
    return mounts.stream().filter(Mount::unified).findFirst();
  }

  /** The v1 mount of a controller, if it is mounted. */
  public Optional<Mount> v1(String controller) {
    return mounts.stream()
        .filter(m -> !m.unified() && m.controllers().contains(controller))
        .findFirst();
  }

  /**
   * Parses a {@code /proc/<pid>/cgroup} file: {@code id:controllers:path} lines. Returns path by
   * controller for v1 lines and by the empty string for the v2 line ({@code 0::/path}).
   */
  public static Map<String, String> parseProcessCgroups(String procCgroup) {
    Map<String, String> paths = new LinkedHashMap<>();
    for (String line : procCgroup.split("\n")) {
      int first = line.indexOf(':');
      int second = first < 0 ? -1 : line.indexOf(':', first + 1);
      if (second < 0) {
        continue;
      }
      String controllers = line.substring(first + 1, second);
      String path = line.substring(second + 1).trim();
      if (controllers.isEmpty()) {
        paths.put("", path);
      } else {
        for (String controller : controllers.split(",")) {
          paths.put(controller, path);
        }
      }
    }
    return paths;
  }

  /**
   * The directory of a group given its path in the hierarchy as /proc/pid/cgroup shows it, or
   * empty if the mount does not show that part of the hierarchy.
   */
  public static Optional<Path> directoryOf(Mount mount, String groupPath) {
    String root = mount.root().equals("/") ? "" : mount.root();
    if (!groupPath.equals(root) && !groupPath.startsWith(root + "/")) {
      return Optional.empty();
    }
    String relative = groupPath.substring(root.length());
    while (relative.startsWith("/")) {
      relative = relative.substring(1);
    }
    return Optional.of(relative.isEmpty() ? mount.mountPoint() : mount.mountPoint().resolve(relative));
  }

  /** mountinfo escapes space, tab, newline and backslash as three octal digits. */
  private static String unescape(String field) {
    if (field.indexOf('\\') < 0) {
      return field;
    }
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < field.length(); i++) {
      char c = field.charAt(i);
      if (c == '\\' && isOctal(field, i + 1)) {
        out.append((char) Integer.parseInt(field.substring(i + 1, i + 4), 8));
        i += 3;
      } else {
        out.append(c);
      }
    }
    return out.toString();
  }

  private static boolean isOctal(String s, int from) {
    if (from + 3 > s.length()) {
      return false;
    }
    for (int i = from; i < from + 3; i++) {
      if (s.charAt(i) < '0' || s.charAt(i) > '7') {
        return false;
      }
    }
    return true;
  }
}
