package org.apsara.pangu.master.server;

/**
 * Who a request comes from, as far as the master acts on it: the owner and group of what it
 * creates and the subject its chunk tokens are issued to. Immutable.
 *
 * <p>Requests are not signed yet, so every caller is the configured default ({@link
 * CallerResolver#fixed}); signed requests will resolve the principal of the signature here, and
 * nothing else in the service changes.
 */
public record Caller(String owner, String group, String tokenSubject) {}
