package org.apsara.security.grpc;

import io.grpc.Attributes;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import java.time.Clock;
import java.util.Map;
import java.util.Objects;
import org.apsara.security.sign.AccessKeyCredentials;
import org.apsara.security.sign.RequestSigner;
import org.apsara.security.sign.ScopedSignature;
import org.apsara.security.sign.ServiceScope;
import org.apsara.security.sign.SignatureV3;

/**
 * Signs every call on a channel with one AccessKey (see {@link SignatureV3} for the mapping of a
 * call onto the V3 signature): with the secret for the identity service, or with a key derived for
 * one service ({@link #forService}) for every other.
 *
 * <p>Calls that send exactly one request message (unary and server-streaming) sign the hash of
 * that message, so a request cannot be altered in flight or replayed with another body. Their
 * headers must carry the hash, and headers go out when the call starts, so such a call's {@code
 * start()} is held back until its first {@code sendMessage()}; what the application calls in
 * between ({@code request(n)}, message compression) is remembered and applied right after the real
 * start. Client-streaming and bidirectional calls send their headers before their first message,
 * and their messages may be unbounded, so they are signed with {@link
 * SignatureV3#UNSIGNED_PAYLOAD}; what they stream is protected by the transport (TLS), not by the
 * signature.
 *
 * <p>Thread-safe; the calls it returns follow {@link ClientCall}'s threading rules.
 */
public final class SigningClientInterceptor implements ClientInterceptor {
  private static final String EMPTY_PAYLOAD_SHA256 = SignatureV3.sha256Hex(new byte[0]);

  private final RequestSigner signer;

  /** Signs with {@code credentials}, the time from {@code clock} and random nonces. */
  public SigningClientInterceptor(AccessKeyCredentials credentials, Clock clock) {
    this(new RequestSigner(credentials, clock, RequestSigner.randomNonces()));
  }

  /**
   * Signs every call for the service and region of {@code scope} ({@value
   * ScopedSignature#ALGORITHM}, with a key derived from the secret for the day), with the time
   * from {@code clock} and random nonces: how a client calls any service but the identity
   * service.
   */
  public static SigningClientInterceptor forService(
      AccessKeyCredentials credentials, ServiceScope scope, Clock clock) {
    return new SigningClientInterceptor(
        RequestSigner.scoped(credentials, scope, clock, RequestSigner.randomNonces()));
  }

  /** Signs with a given signer, for example one with a fixed nonce source in tests. */
  public SigningClientInterceptor(RequestSigner signer) {
    this.signer = Objects.requireNonNull(signer, "signer");
  }

  @Override
  public <ReqT, RespT> ClientCall<ReqT, RespT> interceptCall(
      MethodDescriptor<ReqT, RespT> method, CallOptions callOptions, Channel next) {
    String authority = callOptions.getAuthority() != null
        ? callOptions.getAuthority()
        : Objects.requireNonNullElse(next.authority(), "");
    ClientCall<ReqT, RespT> call = next.newCall(method, callOptions);
    if (method.getType().clientSendsOneMessage()) {
      return new PayloadSigningCall<>(call, method, authority);
    }
    return new ForwardingClientCall.SimpleForwardingClientCall<>(call) {
      @Override
      public void start(Listener<RespT> responseListener, Metadata headers) {
        addSignature(headers, method, authority, SignatureV3.UNSIGNED_PAYLOAD);
        super.start(responseListener, headers);
      }
    };
  }

  private void addSignature(
      Metadata headers, MethodDescriptor<?, ?> method, String authority, String contentSha256) {
    Map<String, String> signature =
        signer.signGrpcCall(method.getFullMethodName(), authority, contentSha256);
    for (Map.Entry<String, String> header : signature.entrySet()) {
      Metadata.Key<String> key = Metadata.Key.of(header.getKey(), Metadata.ASCII_STRING_MARSHALLER);
      headers.removeAll(key); // a header set by the application must not shadow the signed one
      headers.put(key, header.getValue());
    }
  }

  /**
   * A call that starts its delegate at the first message, once the payload hash is known.
   *
   * <p>Only {@link #request} may be called from other threads than the application's; it is
   * counted under {@link #lock} until the delegate has started, and passed straight on after.
   */
  private final class PayloadSigningCall<ReqT, RespT> extends ClientCall<ReqT, RespT> {
    private final ClientCall<ReqT, RespT> delegate;
    private final MethodDescriptor<ReqT, RespT> method;
    private final String authority;
    private final Object lock = new Object();

    private Listener<RespT> listener;
    private Metadata headers;
    private Boolean messageCompression;
    // Guarded by lock; once true, the delegate has started and every pending request was passed on.
    private boolean started;
    private int pendingRequests;

    PayloadSigningCall(
        ClientCall<ReqT, RespT> delegate, MethodDescriptor<ReqT, RespT> method, String authority) {
      this.delegate = delegate;
      this.method = method;
      this.authority = authority;
    }

    @Override
    public void start(Listener<RespT> responseListener, Metadata headers) {
      if (listener != null) {
        throw new IllegalStateException("the call was already started");
      }
      this.listener = Objects.requireNonNull(responseListener, "responseListener");
      this.headers = Objects.requireNonNull(headers, "headers");
    }

    @Override
    public void request(int numMessages) {
      synchronized (lock) {
        if (!started) {
          long total = (long) pendingRequests + numMessages;
          pendingRequests = (int) Math.min(Integer.MAX_VALUE, total);
          return;
        }
      }
      delegate.request(numMessages);
    }

    @Override
    public void sendMessage(ReqT message) {
      if (!isStarted()) {
        startDelegate(PayloadHash.sha256Hex(method, message));
      }
      delegate.sendMessage(message);
    }

    @Override
    public void halfClose() {
      if (!isStarted()) {
        // Half-closed without a message: the server will fail the call, but it must see it.
        startDelegate(EMPTY_PAYLOAD_SHA256);
      }
      delegate.halfClose();
    }

    @Override
    public void cancel(String message, Throwable cause) {
      if (!isStarted() && listener != null) {
        // Starting the delegate lets it report the cancellation to the listener the usual way.
        startDelegate(EMPTY_PAYLOAD_SHA256);
      }
      delegate.cancel(message, cause);
    }

    @Override
    public boolean isReady() {
      return isStarted() && delegate.isReady();
    }

    @Override
    public void setMessageCompression(boolean enabled) {
      if (isStarted()) {
        delegate.setMessageCompression(enabled);
      } else {
        messageCompression = enabled;
      }
    }

    @Override
    public Attributes getAttributes() {
      return delegate.getAttributes();
    }

    private boolean isStarted() {
      synchronized (lock) {
        return started;
      }
    }

    private void startDelegate(String contentSha256) {
      if (listener == null) {
        throw new IllegalStateException("start() was not called");
      }
      addSignature(headers, method, authority, contentSha256);
      delegate.start(listener, headers);
      if (messageCompression != null) {
        delegate.setMessageCompression(messageCompression);
      }
      // Pass on what was requested so far; request() calls racing with this loop add to the count
      // until the loop sees none left and marks the call started.
      while (true) {
        int requests;
        synchronized (lock) {
          requests = pendingRequests;
          pendingRequests = 0;
          if (requests == 0) {
            started = true;
            return;
          }
        }
        delegate.request(requests);
      }
    }
  }
}
