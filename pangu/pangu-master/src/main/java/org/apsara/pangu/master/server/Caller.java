package org.apsara.pangu.master.server;

/**
 * Who a request comes from, as far as the master acts on it: the owner and group of what it
 * creates and the subject its chunk tokens are issued to. Immutable; {@link MasterAccess#caller}
 * resolves it (a signed caller's user and tenant, or the configured default).
 */
public record Caller(String owner, String group, String tokenSubject) {}
