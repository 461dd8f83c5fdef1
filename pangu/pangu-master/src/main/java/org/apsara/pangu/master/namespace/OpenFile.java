package org.apsara.pangu.master.namespace;

/**
 * A lease on an open file: what the leader's lease monitor scans to recover expired leases.
 * Files of a deleted subtree keep their entry until the subtree is reclaimed. Immutable.
 */
public record OpenFile(String clientName, long fileId, long leaseExpiryMs) {}
