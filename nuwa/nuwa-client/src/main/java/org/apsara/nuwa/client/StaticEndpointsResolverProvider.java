package org.apsara.nuwa.client;

import io.grpc.Attributes;
import io.grpc.EquivalentAddressGroup;
import io.grpc.NameResolver;
import io.grpc.NameResolverProvider;
import io.grpc.Status;
import io.grpc.StatusOr;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;

/**
 * Resolves the client's fixed endpoint list into one address group per endpoint, so that the
 * channel's round-robin balancer keeps one connection to each server and spreads calls across them.
 * Host names are looked up again whenever the channel asks for a refresh (after a connection
 * fails), so a server that moved to a new address is found.
 *
 * <p>Registered in a registry private to one client, under its own scheme, so that it never affects
 * other channels in the process.
 */
final class StaticEndpointsResolverProvider extends NameResolverProvider {
  static final String SCHEME = "nuwa-endpoints";

  private final List<Endpoint> endpoints;

  StaticEndpointsResolverProvider(List<Endpoint> endpoints) {
    if (endpoints.isEmpty()) {
      throw new IllegalArgumentException("at least one endpoint is required");
    }
    this.endpoints = List.copyOf(endpoints);
  }

  /** The channel target that selects this provider. */
  static String target() {
    return SCHEME + ":///cluster";
  }

  @Override
  protected boolean isAvailable() {
    return true;
  }

  @Override
  protected int priority() {
    return 5;
  }

  @Override
  public String getDefaultScheme() {
    return SCHEME;
  }

  @Override
  public NameResolver newNameResolver(URI targetUri, NameResolver.Args args) {
    if (!SCHEME.equals(targetUri.getScheme())) {
      return null;
    }
    return new Resolver(endpoints, args);
  }

  private static final class Resolver extends NameResolver {
    private final List<Endpoint> endpoints;
    private final NameResolver.Args args;
    private Listener2 listener;
    private boolean resolving;
    private boolean shutdown;

    Resolver(List<Endpoint> endpoints, NameResolver.Args args) {
      this.endpoints = endpoints;
      this.args = args;
    }

    @Override
    public String getServiceAuthority() {
      return endpoints.get(0).authority();
    }

    @Override
    public void start(Listener2 listener) {
      this.listener = listener;
      resolve();
    }

    @Override
    public void refresh() {
      resolve();
    }

    @Override
    public void shutdown() {
      shutdown = true;
    }

    // Called from the channel's synchronization context; the lookups run on the offload executor
    // because a DNS query can block, and the result is handed back in the synchronization context.
    private void resolve() {
      if (resolving || shutdown) {
        return;
      }
      resolving = true;
      Executor offload = args.getOffloadExecutor();
      Runnable lookup =
          () -> {
            StatusOr<List<EquivalentAddressGroup>> result = lookUp();
            args.getSynchronizationContext()
                .execute(
                    () -> {
                      resolving = false;
                      if (shutdown) {
                        return;
                      }
                      listener.onResult2(
                          ResolutionResult.newBuilder().setAddressesOrError(result).build());
                    });
          };
      if (offload != null) {
        offload.execute(lookup);
      } else {
        lookup.run();
      }
    }

    private StatusOr<List<EquivalentAddressGroup>> lookUp() {
      List<EquivalentAddressGroup> groups = new ArrayList<>();
      List<String> failures = new ArrayList<>();
      for (Endpoint endpoint : endpoints) {
        try {
          List<SocketAddress> addresses = new ArrayList<>();
          for (InetAddress address : InetAddress.getAllByName(endpoint.host())) {
            addresses.add(new InetSocketAddress(address, endpoint.port()));
          }
          // Each endpoint's own name is the authority of its connections, so that TLS checks
          // each server's certificate against the name it was dialed by, not the first one's.
          groups.add(new EquivalentAddressGroup(addresses, Attributes.newBuilder()
              .set(EquivalentAddressGroup.ATTR_AUTHORITY_OVERRIDE, endpoint.authority())
              .build()));
        } catch (UnknownHostException e) {
          failures.add(endpoint + " (" + e.getMessage() + ")");
        }
      }
      if (groups.isEmpty()) {
        return StatusOr.fromStatus(
            Status.UNAVAILABLE.withDescription("cannot resolve any endpoint: " + failures));
      }
      return StatusOr.fromValue(groups);
    }
  }
}
