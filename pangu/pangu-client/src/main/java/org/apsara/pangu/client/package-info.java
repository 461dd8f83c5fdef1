/**
 * The Pangu file system client: {@link org.apsara.pangu.client.PanguClient} for the namespace
 * (through the master group's leader, with retries and settled unknown outcomes), {@link
 * org.apsara.pangu.client.PanguOutputStream} for writing (fan-out to every replica, hsync, the
 * non-stop write past a failed replica) and {@link org.apsara.pangu.client.PanguInputStream} for
 * reading (nearest replica first, failover, reading what an open file's writer synced). Errors
 * are {@link org.apsara.pangu.client.PanguException}s carrying a {@link
 * org.apsara.pangu.client.PanguErrorCode}.
 */
package org.apsara.pangu.client;
