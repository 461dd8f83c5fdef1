/**
 * The application master library: {@link org.apsara.fuxi.client.am.AppMasterSession} keeps an
 * AM's allocation stream with the FuxiMaster primary (changes only, a sync after a failover,
 * reconnection, token renewal) and delivers grants, revocations, worker exits and refused changes
 * to an {@link org.apsara.fuxi.client.am.AppMasterListener}; {@link
 * org.apsara.fuxi.client.am.TuboWorkers} starts and stops workers on the granted machines.
 */
package org.apsara.fuxi.client.am;
