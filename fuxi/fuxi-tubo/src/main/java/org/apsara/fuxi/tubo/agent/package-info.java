/**
 * Tubo's agent: connects the machine-local half ({@link org.apsara.fuxi.tubo.WorkerSupervisor})
 * to FuxiMaster.
 *
 * <ul>
 *   <li>{@link org.apsara.fuxi.tubo.agent.TuboServer}: one Tubo process, started from a {@link
 *       org.apsara.fuxi.tubo.agent.TuboServerConfig}.
 *   <li>{@code HeartbeatLoop}: heartbeats to the primary (running workers, sequenced exits),
 *       following redirects from standbys.
 *   <li>{@code TuboAgent}: applies the answers (grant table enforcement, AM launches, ended
 *       applications) and admits worker starts within the grant table.
 *   <li>{@code TuboService}: the Tubo gRPC service AMs call, behind application tokens.
 * </ul>
 */
package org.apsara.fuxi.tubo.agent;
