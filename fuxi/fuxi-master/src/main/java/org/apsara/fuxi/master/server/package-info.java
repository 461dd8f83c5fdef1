/**
 * The FuxiMaster server: {@link org.apsara.fuxi.master.server.FuxiMasterServer} (one member:
 * election through Nuwa, the FuxiMaster and TuboTracker gRPC services, metrics) configured by
 * {@link org.apsara.fuxi.master.server.FuxiMasterConfig}.
 *
 * <p>Inside, one scheduler thread ({@code FuxiMasterCore}) owns the single-threaded scheduler, the
 * applications, the machines' grant tables and the AM streams; gRPC handlers and timers only hand
 * it events. Hard state (applications, quota groups) is written to Nuwa by that thread with
 * writes guarded by the election key ({@code HardStateStore} documents the key layout); soft state
 * (what runs where) is rebuilt by a new primary from Tubo heartbeats and AM syncs.
 */
package org.apsara.fuxi.master.server;
