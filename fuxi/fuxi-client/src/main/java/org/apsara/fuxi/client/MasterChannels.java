package org.apsara.fuxi.client;

import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.apsara.common.net.HostPort;
import org.apsara.fuxi.api.FuxiTrailers;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The channels to the FuxiMaster members and the current guess of which one is primary, shared by
 * {@link FuxiClient} and the application master library. Learns the primary from the trailer
 * {@value FuxiTrailers#PRIMARY_NAME} of a standby's refusal and otherwise walks the members round
 * robin.
 *
 * <p>Thread-safe. {@link #close} shuts every channel down.
 */
public final class MasterChannels implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(MasterChannels.class);
  /** How long {@link #close} waits for calls in flight before cutting them off. */
  private static final long CLOSE_WAIT_MILLIS = 1_000;

  private final List<HostPort> configured;
  // The configured members, then primaries learned from trailers (bounded by MASTERS_MAX).
  private final List<HostPort> members;
  private final SslContext tls;
  private final Map<HostPort, ManagedChannel> channels = new ConcurrentHashMap<>();
  private volatile HostPort primary;
  private volatile boolean closed;

  /**
   * @param masters the members' client addresses, 1 to {@link FuxiClientConfig#MASTERS_MAX}
   * @param tls a client TLS context, or null for plaintext
   */
  public MasterChannels(List<HostPort> masters, SslContext tls) {
    if (masters.isEmpty() || masters.size() > FuxiClientConfig.MASTERS_MAX) {
      throw new IllegalArgumentException("1 to " + FuxiClientConfig.MASTERS_MAX
          + " master addresses are needed, got " + masters.size());
    }
    this.configured = List.copyOf(masters);
    this.members = new ArrayList<>(configured);
    this.tls = tls;
    this.primary = configured.get(0);
  }

  /** The member to call first: the last one that answered as primary, or a guess. */
  public HostPort primary() {
    return primary;
  }

  /** Records that {@code address} answered as primary. */
  public void primaryIs(HostPort address) {
    learn(address);
    primary = address;
  }

  /**
   * Where to go after {@code failed} refused a call with {@code e}: the primary it named in the
   * trailer if any (and different), else the next member round robin. The answer becomes the
   * current guess.
   */
  public HostPort after(HostPort failed, StatusRuntimeException e) {
    HostPort named = namedPrimary(e.getTrailers());
    HostPort next = named != null && !named.equals(failed) ? named : next(failed);
    if (named != null) {
      learn(named);
    }
    primary = next;
    return next;
  }

  /** The primary named in a standby's trailers, or null. */
  public static HostPort namedPrimary(Metadata trailers) {
    String text = trailers == null ? null : trailers.get(FuxiTrailers.PRIMARY);
    if (text == null || text.isEmpty()) {
      return null;
    }
    try {
      return HostPort.parse(text);
    } catch (IllegalArgumentException e) {
      LOG.warn("A FuxiMaster named an unusable primary address '{}': {}", text, e.getMessage());
      return null;
    }
  }

  /** The member after {@code current}, round robin over configured and learned members. */
  public HostPort next(HostPort current) {
    synchronized (members) {
      int i = members.indexOf(current);
      return members.get((i + 1) % members.size());
    }
  }

  private void learn(HostPort address) {
    synchronized (members) {
      if (members.contains(address)) {
        return;
      }
      if (members.size() >= FuxiClientConfig.MASTERS_MAX) {
        if (members.size() == configured.size()) {
          return;
        }
        // Forget the oldest learned address, never a configured one.
        ManagedChannel old = channels.remove(members.remove(configured.size()));
        if (old != null) {
          old.shutdown();
        }
      }
      members.add(address);
    }
  }

  /** The channel to {@code address}, created on first use. */
  public ManagedChannel channel(HostPort address) {
    if (closed) {
      throw new IllegalStateException("the master channels are closed");
    }
    return channels.computeIfAbsent(address, a -> newChannel(a, tls));
  }

  /** A channel to any Fuxi service; gRPC's own retries are off, callers decide what to repeat. */
  public static ManagedChannel newChannel(HostPort address, SslContext tls) {
    NettyChannelBuilder builder = NettyChannelBuilder.forAddress(address.host(), address.port())
        .disableRetry();
    if (tls != null) {
      builder.sslContext(tls);
    } else {
      builder.usePlaintext();
    }
    return builder.build();
  }

  public boolean isClosed() {
    return closed;
  }

  @Override
  public void close() {
    closed = true;
    shutdownAll(channels.values());
    channels.clear();
  }

  /** Shuts channels down, waiting briefly for calls in flight. */
  public static void shutdownAll(Iterable<ManagedChannel> all) {
    for (ManagedChannel channel : all) {
      channel.shutdown();
    }
    for (ManagedChannel channel : all) {
      try {
        if (!channel.awaitTermination(CLOSE_WAIT_MILLIS, TimeUnit.MILLISECONDS)) {
          channel.shutdownNow();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        channel.shutdownNow();
      }
    }
  }
}
