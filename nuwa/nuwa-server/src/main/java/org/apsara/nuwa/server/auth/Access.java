package org.apsara.nuwa.server.auth;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.Compare;
import io.etcd.jetcd.api.DeleteRangeRequest;
import io.etcd.jetcd.api.PutRequest;
import io.etcd.jetcd.api.RangeRequest;
import io.etcd.jetcd.api.RequestOp;
import io.etcd.jetcd.api.TxnRequest;
import java.util.Collection;
import org.apsara.nuwa.api.NuwaErrors;
import org.apsara.nuwa.server.raft.proto.AuthStamp;

/**
 * What one caller may do, judged against one version of the auth state: made by
 * {@link AccessControl#authenticate} for each request, used at once on the thread that made it.
 * Every check returns normally when allowed and throws etcd's status otherwise; while
 * authentication is disabled every check allows.
 *
 * <p>The checks are etcd's. Key access needs the caller's token to be of the current auth
 * revision ("revision of auth store is old" otherwise, so that the client authenticates again),
 * then the root role or a permission covering the whole range. Administration needs the root role
 * and any token of the caller.
 */
public final class Access {
  private final AuthState state;
  /** The caller; null while authentication is disabled. */
  private final String user;
  private final long tokenRevision;

  Access(AuthState state, String user, long tokenRevision) {
    this.state = state;
    this.user = user;
    this.tokenRevision = tokenRevision;
  }

  static Access open(AuthState state) {
    return new Access(state, null, 0);
  }

  /** Whether authentication was enabled in the state this caller was judged against. */
  public boolean enforced() {
    return user != null;
  }

  /** The caller's name; empty while authentication is disabled. */
  public String user() {
    return user == null ? "" : user;
  }

  /** The state this caller was judged against. */
  public AuthState state() {
    return state;
  }

  /**
   * What goes on each record this caller's request produces: the auth revision the checks were
   * made against. The record applies only if that is still the revision (see {@link AuthStamp}).
   */
  public AuthStamp stamp() {
    return AuthStamp.newBuilder().setRevision(state.revision()).setUser(user()).build();
  }

  // ---------------------------------------------------------------- administration

  /** The root role is needed (etcd's "admin" operations). */
  public void requireAdmin() {
    if (!enforced()) {
      return;
    }
    if (tokenRevision > state.revision()) {
      // Issued after a change this member has not applied: its state cannot judge the caller
      // yet. Unlike for keys, an older token is fine here, as in etcd.
      throw NuwaErrors.AUTH_OLD_REVISION.asRuntimeException();
    }
    AuthState.UserPermissions permissions = state.permissions(user);
    if (permissions == null) {
      throw NuwaErrors.USER_NOT_FOUND.asRuntimeException();
    }
    if (!permissions.root()) {
      throw NuwaErrors.PERMISSION_DENIED.asRuntimeException();
    }
  }

  /** Whether the caller could do administration: auth disabled, or the root role. */
  public boolean isAdmin() {
    if (!enforced()) {
      return true;
    }
    AuthState.UserPermissions permissions = state.permissions(user);
    return permissions != null && permissions.root();
  }

  // ---------------------------------------------------------------- keys

  public void checkRead(ByteString key, ByteString rangeEnd) {
    checkKeys(key, rangeEnd, false);
  }

  public void checkWrite(ByteString key, ByteString rangeEnd) {
    checkKeys(key, rangeEnd, true);
  }

  private void checkKeys(ByteString key, ByteString rangeEnd, boolean write) {
    if (!enforced()) {
      return;
    }
    // etcd refuses a token older than the auth state; one newer than it means this member has
    // not applied the change the token was issued after, so its state cannot judge the token yet.
    if (tokenRevision != state.revision()) {
      throw NuwaErrors.AUTH_OLD_REVISION.asRuntimeException();
    }
    AuthState.UserPermissions permissions = state.permissions(user);
    if (permissions == null) {
      throw NuwaErrors.PERMISSION_DENIED.asRuntimeException();
    }
    if (permissions.root()) {
      return;
    }
    KeyIntervals allowed = write ? permissions.write() : permissions.read();
    if (!allowed.covers(key, rangeEnd)) {
      throw NuwaErrors.PERMISSION_DENIED.asRuntimeException();
    }
  }

  public void checkRange(RangeRequest request) {
    checkRead(request.getKey(), request.getRangeEnd());
  }

  /**
   * Write on the key, and read too when the previous value is asked for. Whether the caller may
   * write the keys already on the request's lease is checked when the put applies.
   */
  public void checkPut(PutRequest request) {
    checkWrite(request.getKey(), ByteString.EMPTY);
    if (request.getPrevKv()) {
      checkRead(request.getKey(), ByteString.EMPTY);
    }
  }

  public void checkDeleteRange(DeleteRangeRequest request) {
    checkWrite(request.getKey(), request.getRangeEnd());
    if (request.getPrevKv()) {
      checkRead(request.getKey(), request.getRangeEnd());
    }
  }

  /**
   * Read on every compared range, and what every operation of both branches needs, nested
   * transactions included: as in etcd, the branch that will run is not known when checking.
   */
  public void checkTxn(TxnRequest request) {
    for (Compare compare : request.getCompareList()) {
      checkRead(compare.getKey(), compare.getRangeEnd());
    }
    for (RequestOp op : request.getSuccessList()) {
      checkOp(op);
    }
    for (RequestOp op : request.getFailureList()) {
      checkOp(op);
    }
  }

  private void checkOp(RequestOp op) {
    switch (op.getRequestCase()) {
      case REQUEST_RANGE -> checkRange(op.getRequestRange());
      case REQUEST_PUT -> checkPut(op.getRequestPut());
      case REQUEST_DELETE_RANGE -> checkDeleteRange(op.getRequestDeleteRange());
      case REQUEST_TXN -> checkTxn(op.getRequestTxn());
      default -> { }
    }
  }

  /** Read (or write) on every one of the keys, each a single key (the keys of a lease). */
  public void checkEachKey(Collection<ByteString> keys, boolean write) {
    if (!enforced() || isAdmin()) {
      return;
    }
    for (ByteString key : keys) {
      checkKeys(key, ByteString.EMPTY, write);
    }
  }
}
