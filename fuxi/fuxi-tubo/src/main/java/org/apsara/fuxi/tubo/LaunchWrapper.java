package org.apsara.fuxi.tubo;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Starts a worker so that it is in its cgroups before its program runs a single instruction.
 *
 * <p>Tubo does not start the worker's program directly; it starts a tiny POSIX shell script that
 * writes its own pid ({@code $$}) into each of the worker's {@code cgroup.procs} files and then
 * {@code exec}s the program. {@code exec} keeps the pid, so the process Tubo started, the process
 * in the cgroups and the worker's program are one and the same, and everything the program forks
 * is born inside the groups.
 *
 * <p>Why not the alternatives: moving the pid into the groups after starting it races with the
 * program, which may allocate or fork before the move (children forked before the move would stay
 * outside for good); {@code clone3(CLONE_INTO_CGROUP)} would be exact but needs native code and
 * v2; moving Tubo's own launching thread into the group before the fork would charge Tubo's own
 * allocations to the worker. The shell costs one exec, about a millisecond.
 *
 * <p>If a write fails, or the program is not found, the script writes why into the launch-error
 * file and exits with 126 or 127 without running anything; the supervisor reports that as {@link
 * ExitCause.LaunchFailed}.
 */
final class LaunchWrapper {
  /** The shell that runs the wrapper script: POSIX sh is on every machine Tubo runs on. */
  static final String SHELL = "/bin/sh";

  /** $0 of the wrapper, as seen in ps while it runs. */
  static final String NAME = "tubo-launch";

  static final String SCRIPT = String.join("\n",
      "err=$1; n=$2; shift 2",
      "fail() { printf '%s\\n' \"$1\" > \"$err\"; exit \"$2\"; }",
      "while [ \"$n\" -gt 0 ]; do",
      "  echo $$ > \"$1\" || fail \"cannot join cgroup $1\" 126",
      "  shift; n=$((n - 1))",
      "done",
      "case $1 in",
      "  */*) [ -f \"$1\" ] && [ -x \"$1\" ] || fail \"not an executable file: $1\" 127 ;;",
      "  *) command -v \"$1\" > /dev/null 2>&1 || fail \"command not found: $1\" 127 ;;",
      "esac",
      "exec \"$@\"");

  private LaunchWrapper() {}

  /** The command that joins {@code procsFiles} and then runs {@code argv}. */
  static List<String> command(Path launchErrorFile, List<Path> procsFiles, List<String> argv) {
    List<String> command = new ArrayList<>(argv.size() + procsFiles.size() + 6);
    command.add(SHELL);
    command.add("-c");
    command.add(SCRIPT);
    command.add(NAME);
    command.add(launchErrorFile.toString());
    command.add(Integer.toString(procsFiles.size()));
    for (Path procs : procsFiles) {
      command.add(procs.toString());
    }
    command.addAll(argv);
    return command;
  }
}
