/**
 * The Fuxi client: {@link org.apsara.fuxi.client.FuxiClient} submits, watches and kills
 * applications and manages quota groups through the FuxiMaster primary (following failovers and
 * retrying what is safe to repeat). Errors are {@link org.apsara.fuxi.client.FuxiException}s
 * carrying the status and the server's {@link org.apsara.fuxi.client.FuxiErrorCode}. The
 * application master library is in {@code org.apsara.fuxi.client.am}; an example application
 * master in {@code org.apsara.fuxi.client.examples}.
 */
package org.apsara.fuxi.client;
