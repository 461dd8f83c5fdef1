package org.apsara.nuwa.server.auth;

import org.apsara.nuwa.api.NuwaErrors;
import org.apsara.nuwa.server.auth.proto.TokenClaims;

/**
 * Judges requests by their etcd token against the current auth state. Cheap enough for the gRPC
 * event loop: one HMAC over a few dozen bytes, then lookups in the state's precomputed
 * permissions. Thread-safe.
 */
public final class AccessControl {
  private final AuthStore store;
  private final TokenCodec tokens;

  public AccessControl(AuthStore store, TokenCodec tokens) {
    this.store = store;
    this.tokens = tokens;
  }

  /** The current auth state. */
  public AuthState state() {
    return store.state();
  }

  /**
   * The caller with the given token (null if the request carried none). While authentication is
   * enabled, a request without token fails with "user name is empty" and one whose token is not
   * signed with the cluster's key, or has expired, with "invalid auth token", as in etcd. While it
   * is disabled here, a token that claims a later auth revision than this member's state fails
   * with "revision of auth store is old": this member has not applied the change the token was
   * issued after.
   */
  public Access authenticate(String token) {
    return authenticate(token, true);
  }

  /**
   * As {@link #authenticate}, but an expired token still passes. For lease keep-alives only: a
   * keep-alive stream carries the token it was opened with for as long as it lasts, and clients
   * (jetcd) reopen it with the same token; etcd 3.4 checks nothing on keep-alives. Refusing them
   * once the token expired would let every lease of a long-running client lapse.
   */
  public Access authenticateIgnoringExpiry(String token) {
    return authenticate(token, false);
  }

  private Access authenticate(String token, boolean checkExpiry) {
    AuthState state = store.state();
    if (!state.enabled()) {
      if (checkExpiry && token != null
          && tokens.claimedRevision(token).orElse(0) > state.revision()) {
        // Authentication was enabled after this member's state: it cannot judge the token yet.
        // (Keep-alives, judged leniently, pass.)
        throw NuwaErrors.AUTH_OLD_REVISION.asRuntimeException();
      }
      return Access.open(state);
    }
    if (token == null || token.isEmpty()) {
      throw NuwaErrors.USER_EMPTY.asRuntimeException();
    }
    TokenClaims claims = tokens.verify(state.tokenKey(), token, checkExpiry)
        .orElseThrow(NuwaErrors.INVALID_AUTH_TOKEN::asRuntimeException);
    return new Access(state, claims.getUser(), claims.getAuthRevision());
  }

  /** A token for {@code user}, valid for the configured TTL, as of {@code state}'s revision. */
  public String issueToken(AuthState state, String user) {
    return tokens.sign(state.tokenKey(), user, state.revision());
  }
}
