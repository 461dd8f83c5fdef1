package org.apsara.security.grpc;

import io.grpc.Channel;
import io.grpc.ClientInterceptor;
import io.grpc.ClientInterceptors;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apsara.testkit.TestClock;
import org.apsara.security.audit.InMemoryAuditSink;
import org.apsara.security.sign.AccessKeyCredentials;
import org.apsara.security.sign.AccessKeyResolver;
import org.apsara.security.sign.NonceCache;
import org.apsara.security.sign.Principal;
import org.apsara.security.sign.ResolvedAccessKey;
import org.apsara.security.sign.SignatureVerifier;

/**
 * The echo service behind {@link AuthenticationServerInterceptor} on an in-process transport, with
 * two users: alice, whose key is enabled, and bob, whose key is disabled.
 */
final class SecuredServer implements AutoCloseable {
  static final Instant NOW = Instant.parse("2024-05-01T08:00:00Z");
  static final AccessKeyCredentials ALICE =
      new AccessKeyCredentials("LTAIalice000000000000000", "alice-secret-000000000000000000");
  static final AccessKeyCredentials BOB =
      new AccessKeyCredentials("LTAIbob00000000000000000", "bob-secret-00000000000000000000");
  static final Principal ALICE_PRINCIPAL = new Principal("1234", "alice", ALICE.accessKeyId());
  static final Principal BOB_PRINCIPAL = new Principal("1234", "bob", BOB.accessKeyId());

  final TestClock clock = new TestClock(NOW);
  final InMemoryAuditSink audit = new InMemoryAuditSink();
  final EchoService service = new EchoService();
  private final String name = InProcessServerBuilder.generateName();
  private final Server server;
  private final List<ManagedChannel> channels = new ArrayList<>();

  SecuredServer() {
    this(NonceCache.DEFAULT_ENTRIES_MAX);
  }

  SecuredServer(int nonceCacheEntriesMax) {
    this(nonceCacheEntriesMax, List.of());
  }

  /** Also serves {@code extraServices}, behind the same interceptor. */
  SecuredServer(int nonceCacheEntriesMax, List<ServerServiceDefinition> extraServices) {
    AccessKeyResolver resolver = id -> Optional.ofNullable(Map.of(
        ALICE.accessKeyId(), new ResolvedAccessKey(ALICE.accessKeySecret(), true, ALICE_PRINCIPAL),
        BOB.accessKeyId(), new ResolvedAccessKey(BOB.accessKeySecret(), false, BOB_PRINCIPAL))
        .get(id));
    AuthenticationServerInterceptor authentication = new AuthenticationServerInterceptor(
        new SignatureVerifier(clock, new NonceCache(nonceCacheEntriesMax)),
        resolver,
        audit,
        Set.of(EchoService.PING.getFullMethodName()));
    InProcessServerBuilder builder = InProcessServerBuilder.forName(name)
        .addService(ServerInterceptors.intercept(service.definition(), authentication));
    for (ServerServiceDefinition extra : extraServices) {
      builder.addService(ServerInterceptors.intercept(extra, authentication));
    }
    try {
      server = builder.build().start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A channel whose calls pass through {@code interceptors}, the last one first. */
  Channel channel(ClientInterceptor... interceptors) {
    ManagedChannel channel = InProcessChannelBuilder.forName(name).build();
    channels.add(channel);
    return ClientInterceptors.intercept(channel, interceptors);
  }

  @Override
  public void close() {
    for (ManagedChannel channel : channels) {
      channel.shutdownNow();
    }
    server.shutdownNow();
    try {
      server.awaitTermination(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
