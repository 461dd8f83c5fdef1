package org.apsara.nuwa.client;

/**
 * A granted lease. Immutable.
 *
 * @param id the lease ID, to attach keys to ({@link PutOptions#withLease}) and to keep alive
 * @param ttlSeconds the TTL the server granted, which may be longer than the one asked for (the
 *     server raises TTLs below its minimum)
 */
public record LeaseGrant(long id, long ttlSeconds) {}
