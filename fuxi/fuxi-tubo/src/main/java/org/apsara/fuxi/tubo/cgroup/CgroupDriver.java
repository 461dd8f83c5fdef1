package org.apsara.fuxi.tubo.cgroup;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apsara.fuxi.tubo.WorkerClass;

/**
 * Tubo's view of one cgroup hierarchy (v1 or v2) or of none. Layout, the same in both versions
 * (v1 repeats it in every controller's hierarchy):
 *
 * <pre>
 * &lt;hierarchy root&gt;/&lt;parent&gt;/            Tubo's own group (default apsara-tubo)
 *     latency/                            class group, full weight
 *         &lt;worker id&gt;/                 one group per worker: quota, weight, memory limit
 *     batch/                              class group, minimal weight
 *         &lt;worker id&gt;/
 * </pre>
 *
 * Tubo's own process is never put in these groups; the class groups hold no process (which v2
 * requires of a group whose controllers its children use).
 *
 * <p>Threading: implementations are thread-safe as long as calls for one worker are not made
 * concurrently with each other; the supervisor serialises them per worker. The kernel files are
 * the only state.
 */
public interface CgroupDriver {

  /** What this driver enforces. */
  Enforcement enforcement();

  /** One line for logs and health: the version and where the groups are. */
  String describe();

  /**
   * Creates Tubo's group and the two class groups with their weights, enabling the controllers
   * on the way down where the version needs it. Idempotent: an existing layout (a restarted Tubo)
   * is kept and its weights rewritten.
   *
   * @param machineMillicores the machine's CPU, for the latency class's v1 shares
   */
  void prepare(int machineMillicores) throws IOException;

  /**
   * Creates a worker's group with its limits and returns the {@code cgroup.procs} files the
   * worker's process must write its own pid into before it runs the worker's program (one per v1
   * hierarchy; none when unenforced). A group left over with the same id is reused only if empty.
   *
   * @throws IOException if the group cannot be made or a limit cannot be written; nothing is left
   *     behind then
   */
  List<Path> createWorkerGroup(
      WorkerClass workerClass, String workerId, int cpuMillicores, long memoryMib)
      throws IOException;

  /** Whether the worker's group exists. */
  boolean exists(WorkerClass workerClass, String workerId);

  /** The pids in the worker's group (empty if the group does not exist). */
  List<Long> pids(WorkerClass workerClass, String workerId) throws IOException;

  /** What the worker's group has used so far; {@link GroupUsage#NONE} when unenforced. */
  GroupUsage usage(WorkerClass workerClass, String workerId) throws IOException;

  /**
   * Kills every process in the worker's group, including those forked while the kill runs, and
   * returns once the group is empty. Where the kill freezes the group, it thaws it before it
   * returns or throws; after {@link #stopFreezing} it signals without freezing.
   *
   * @throws IOException if the group is still not empty after {@link
   *     CgroupDrivers#KILL_TIMEOUT}
   */
  void killAll(WorkerClass workerClass, String workerId) throws IOException;

  /**
   * Thaws every worker group found frozen, for a starting Tubo before it looks at its workers.
   * Tubo holds a group frozen only for the moment of a kill, so a frozen group is one a Tubo left
   * when it died in that moment: its processes hang until thawed, in v1 with their SIGKILL
   * pending, which then lands at once.
   *
   * @return the ids of the worker groups thawed
   */
  List<String> thawLeftFrozen() throws IOException;

  /**
   * For a stopping Tubo: kills from now on signal without freezing, and this returns once no kill
   * under way holds a group frozen, or after {@link CgroupDrivers#STOP_FREEZING_WAIT}. The JVM
   * may end right after Tubo stops, and a group it left frozen would keep its processes, and
   * their memory, until the next Tubo starts. May be called while kills run on other threads.
   *
   * @return whether no group is frozen by this driver now
   */
  boolean stopFreezing();

  /** Removes the worker's (empty) group; does nothing if it does not exist. */
  void removeWorkerGroup(WorkerClass workerClass, String workerId) throws IOException;

  /** The worker groups that exist now, per class: what a restarted Tubo finds. */
  Map<WorkerClass, List<String>> listWorkerGroups() throws IOException;

  /**
   * Removes the class groups and Tubo's group if no worker group is left in them; for
   * decommissioning a machine and for tests. Returns whether they are gone.
   */
  boolean removeTuboGroups() throws IOException;
}
