/**
 * Tubo's machine-local half: the agent on every machine that runs the workers FuxiMaster grants,
 * each in its own sandbox directory and cgroup, and reports how they end.
 *
 * <ul>
 *   <li>{@link org.apsara.fuxi.tubo.MachineResources}: what the machine offers (detected or
 *       configured, less a reserve for the system).
 *   <li>{@link org.apsara.fuxi.tubo.WorkerSupervisor}: launch, kill, evict, report exits, list
 *       the running workers, adopt them after a Tubo restart, clean sandboxes up.
 *   <li>{@link org.apsara.fuxi.tubo.cgroup}: the cgroup v1 and v2 drivers behind one interface,
 *       and the unenforced fallback.
 * </ul>
 *
 * The RPC layer (heartbeats, grants, kills from the master) is not here: it calls this API.
 */
package org.apsara.fuxi.tubo;
