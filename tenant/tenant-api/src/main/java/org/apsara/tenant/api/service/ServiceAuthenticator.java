package org.apsara.tenant.api.service;

import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Clock;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apsara.common.time.MonotonicClock;
import org.apsara.security.audit.AuditSink;
import org.apsara.security.grpc.AuthenticationServerInterceptor;
import org.apsara.security.grpc.Authorization;
import org.apsara.security.grpc.AuthorizationDecision;
import org.apsara.security.grpc.Authorizer;
import org.apsara.security.policy.CrossTenantPolicies;
import org.apsara.security.policy.DecisionCache;
import org.apsara.security.policy.InvalidPolicyException;
import org.apsara.security.policy.Policy;
import org.apsara.security.policy.PolicyDocument;
import org.apsara.security.sign.CredentialScope;
import org.apsara.security.sign.NonceCache;
import org.apsara.security.sign.Principal;
import org.apsara.security.sign.ResolvedSigningKey;
import org.apsara.security.sign.ScopedAuthorizationHeader;
import org.apsara.security.sign.ServiceScope;
import org.apsara.security.sign.SignatureError;
import org.apsara.security.sign.SignatureRejectedException;
import org.apsara.security.sign.SignatureVerifier;
import org.apsara.security.sign.SigningKeyResolver;
import org.apsara.tenant.api.CredentialsFile;
import org.apsara.tenant.api.IdentityClient;
import org.apsara.tenant.api.TenantAuthorizer;
import org.apsara.tenant.api.v1.EffectivePolicy;
import org.apsara.tenant.api.v1.GetServiceCredentialResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Authenticates and authorizes the calls to one service (Pangu, Fuxi, ...) locally, from what the
 * identity service tells it about each AccessKey, without the service ever holding an AccessKey
 * secret.
 *
 * <pre>{@code
 * IdentityClient identity = IdentityClient.connect(profile);          // the service's own key
 * ServiceAuthenticator auth = ServiceAuthenticator.start(identity, "pangu",
 *     ServiceAuthenticatorOptions.defaults().withRegion(profile.region()));
 * AuditSink audit = new Slf4jAuditSink();
 * Server server = NettyServerBuilder.forPort(port)
 *     .addService(ServerInterceptors.intercept(new MasterService(auth.authorization(audit)),
 *         auth.interceptor(audit, Set.of())))
 *     .build().start();
 * // in a handler: authorization.require("pangu:Stat", "acs:pangu:local:acme:file/a", Access.READ);
 * }</pre>
 *
 * <p><b>Authentication.</b> {@link #interceptor} accepts only {@code APSARA4-HMAC-SHA256}
 * signatures scoped to this service and region (see {@link SignatureVerifier#verifyScoped}). The
 * key to check one with comes from {@code GetServiceCredential}: the key derived for the day, the
 * region and this service, whether the AccessKey is enabled, its user, and the user's policies. The
 * first call with an AccessKey (on a day) waits for that answer; concurrent first calls with the
 * same AccessKey wait for the same one call. Later calls are answered from memory. "No such
 * AccessKey" is remembered for {@link ServiceAuthenticatorOptions#notFoundTtl()}, so that a caller
 * with an unknown key cannot make this service call the identity service for each request.
 *
 * <p><b>Authorization.</b> As an {@link Authorizer} it applies the rules of the identity service
 * itself ({@link TenantAuthorizer}: the root users, the cached policies, the wall between tenants)
 * with its own {@link DecisionCache}. {@link #authorization} wraps it for handlers, with auditing.
 *
 * <p><b>Staleness.</b> A background thread asks again about every cached AccessKey every {@link
 * ServiceAuthenticatorOptions#refreshInterval()} (one call per AccessKey and day cached, one after
 * the other), so that a disabled or deleted AccessKey is refused, and a policy attached or detached
 * applies, within about one refresh interval plus the time of one round. While the identity
 * service cannot be reached, a cached answer is used for at most {@link
 * ServiceAuthenticatorOptions#maxStaleness()} after it was given; then calls signed with that key
 * fail with {@code UNAVAILABLE} ({@code SigningKeyUnavailable}) until it answers again. AccessKeys
 * not used for that long, and days before yesterday, are forgotten.
 *
 * <p>Thread-safe. {@link #resolve} may block the calling gRPC thread for one {@code
 * GetServiceCredential} (at most the identity client's deadline) the first time a key is seen;
 * everything else answers from memory. {@link #close} stops the refresh thread; the identity
 * client stays the caller's to close.
 */
public final class ServiceAuthenticator
    implements SigningKeyResolver, Authorizer, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ServiceAuthenticator.class);

  private final IdentityClient identity;
  private final ServiceScope scope;
  private final ServiceAuthenticatorOptions options;
  private final Clock clock;
  private final MonotonicClock monotonic;
  private final SignatureVerifier verifier;
  private final DecisionCache decisions = new DecisionCache(DecisionCache.DEFAULT_MAX_ENTRIES);
  private final TenantAuthorizer authorizer;
  private final ConcurrentHashMap<CacheKey, Slot> slots = new ConcurrentHashMap<>();
  /** The newest answer about each AccessKey, whatever its day: what authorization reads. */
  private final ConcurrentHashMap<String, Known> latestByAccessKey = new ConcurrentHashMap<>();
  private final ScheduledExecutorService refresher;
  /** The identity client {@link #connect} opened, closed with this; null if the caller owns it. */
  private volatile IdentityClient ownedIdentity;

  private record CacheKey(String accessKeyId, LocalDate date) {}

  /** What the identity service knows of an AccessKey, ready for use. */
  private record Known(ResolvedSigningKey key, List<EffectivePolicy> documents,
      List<Policy> ownTenant, List<Policy> crossTenant) {}

  /** One answer: the key, or empty for "no such AccessKey"; and when it was asked for. */
  private record Answer(Optional<Known> known, long askedAtNanos) {}

  /** The cache entry of one AccessKey on one day. */
  private static final class Slot {
    /** Completed by the thread that created the slot, with its first answer. */
    final CompletableFuture<Answer> first = new CompletableFuture<>();
    /** The newest answer; null until the first arrives. */
    volatile Answer answer;
    volatile long lastUsedNanos;

    Slot(long nowNanos) {
      lastUsedNanos = nowNanos;
    }
  }

  /** Why asking the identity service failed; {@code unreachable} if asking others is futile too. */
  private static final class FetchFailure extends Exception {
    private static final long serialVersionUID = 1L;
    final boolean unreachable;

    FetchFailure(String message, boolean unreachable) {
      super(message);
      this.unreachable = unreachable;
    }
  }

  private ServiceAuthenticator(IdentityClient identity, String service,
      ServiceAuthenticatorOptions options, Clock clock, MonotonicClock monotonic) {
    this.identity = Objects.requireNonNull(identity, "identity");
    this.options = Objects.requireNonNull(options, "options");
    this.scope = new ServiceScope(options.region(), service);
    this.clock = Objects.requireNonNull(clock, "clock");
    this.monotonic = Objects.requireNonNull(monotonic, "monotonic");
    this.verifier = new SignatureVerifier(clock, new NonceCache(options.nonceEntriesMax()));
    this.authorizer = new TenantAuthorizer(new TenantAuthorizer.PrincipalPolicies() {
      @Override
      public List<Policy> ownTenantPolicies(Principal principal) {
        return known(principal).map(Known::ownTenant).orElse(List.of());
      }

      @Override
      public List<Policy> crossTenantPolicies(Principal principal) {
        return known(principal).map(Known::crossTenant).orElse(List.of());
      }
    }, decisions, options.region());
    this.refresher = Executors.newSingleThreadScheduledExecutor(runnable -> {
      Thread thread = new Thread(runnable, "service-authenticator-" + service);
      thread.setDaemon(true);
      return thread;
    });
  }

  /**
   * Starts authenticating calls to {@code service}, with the system clocks.
   *
   * @param identity a client of the identity service, signing with an AccessKey allowed {@code
   *     ram:GetServiceCredential} on {@code acs:ram:*:system:service/<service>}
   * @param service this service's name, for example {@code pangu}; callers sign for it
   */
  public static ServiceAuthenticator start(
      IdentityClient identity, String service, ServiceAuthenticatorOptions options) {
    return start(identity, service, options, Clock.systemUTC(), MonotonicClock.SYSTEM);
  }

  /**
   * Starts with given clocks: {@code clock} for signature timestamps and days, {@code monotonic}
   * for the age of cached answers.
   */
  public static ServiceAuthenticator start(IdentityClient identity, String service,
      ServiceAuthenticatorOptions options, Clock clock, MonotonicClock monotonic) {
    ServiceAuthenticator authenticator =
        new ServiceAuthenticator(identity, service, options, clock, monotonic);
    long periodNanos = options.refreshInterval().toNanos();
    authenticator.refresher.scheduleWithFixedDelay(
        authenticator::refreshRound, periodNanos, periodNanos, TimeUnit.NANOSECONDS);
    return authenticator;
  }

  /**
   * Connects to the identity service with this service's own AccessKey ({@code own}, whose
   * endpoint and TLS it uses) and starts authenticating calls to {@code service} in the profile's
   * region, with the default options. {@link #close} closes that connection too: what a service
   * needs to check signed calls, in one piece.
   *
   * @param own a profile whose key is allowed {@code ram:GetServiceCredential} on {@code
   *     acs:ram:*:system:service/<service>}
   */
  public static ServiceAuthenticator connect(CredentialsFile.Profile own, String service) {
    IdentityClient identity = IdentityClient.connect(own);
    try {
      ServiceAuthenticator authenticator = start(identity, service,
          ServiceAuthenticatorOptions.defaults().withRegion(own.region()));
      authenticator.ownedIdentity = identity;
      return authenticator;
    } catch (RuntimeException e) {
      identity.close();
      throw e;
    }
  }

  /** The region and service that callers' signatures must name. */
  public ServiceScope scope() {
    return scope;
  }

  /**
   * The server interceptor that authenticates every call (except {@code unauthenticatedMethods},
   * for example the gRPC health check), auditing rejections to {@code auditSink}. Every
   * interceptor of one authenticator shares its replay cache, so one server may install it on
   * many services.
   */
  public ServerInterceptor interceptor(AuditSink auditSink, Set<String> unauthenticatedMethods) {
    return AuthenticationServerInterceptor.forService(
        verifier, scope, this, auditSink, unauthenticatedMethods);
  }

  /** What handlers check permissions with: this authorizer, audited to {@code auditSink}. */
  public Authorization authorization(AuditSink auditSink) {
    return new Authorization(this, auditSink, clock);
  }

  @Override
  public AuthorizationDecision authorize(
      Principal principal, String action, String resource, Map<String, String> requestContext) {
    return authorizer.authorize(principal, action, resource, requestContext);
  }

  /** The (AccessKey, day) pairs cached now, unknown AccessKeys included. */
  public int cachedEntries() {
    return slots.size();
  }

  /**
   * Whether a call whose Authorization header is {@code authorization} (null if it has none) is
   * judged from memory, without asking the identity service: its AccessKey was seen on its day
   * and the answer is still usable, or the header is refused before any lookup. A server may run
   * such calls on its transport threads and give only the others a thread that may block.
   * Cheap; never blocks.
   */
  public boolean answersFromMemory(String authorization) {
    if (authorization == null || !ScopedAuthorizationHeader.isScoped(authorization)) {
      return true;
    }
    ScopedAuthorizationHeader header;
    try {
      header = ScopedAuthorizationHeader.parse(authorization);
    } catch (SignatureRejectedException e) {
      return true;
    }
    Slot slot = slots.get(new CacheKey(header.accessKeyId(), header.scope().date()));
    Answer answer = slot == null ? null : slot.answer;
    return answer != null && (answer.known().isPresent()
        || monotonic.nanos() - answer.askedAtNanos() <= options.notFoundTtl().toNanos());
  }

  // ---------------------------------------------------------------------------- authentication

  @Override
  public Optional<ResolvedSigningKey> resolve(String accessKeyId, CredentialScope requested)
      throws SignatureRejectedException {
    if (!requested.serviceScope().equals(scope)) {
      throw new IllegalArgumentException("asked for a key of " + requested.serviceScope()
          + ", but this authenticator serves " + scope);
    }
    CacheKey key = new CacheKey(accessKeyId, requested.date());
    // A second pass only after forgetting an expired "no such AccessKey", to ask again.
    for (int pass = 0; ; pass++) {
      Slot slot = slotFor(key);
      Answer answer = awaitAnswer(slot, accessKeyId);
      long now = monotonic.nanos();
      slot.lastUsedNanos = now;
      long ageNanos = now - answer.askedAtNanos();
      if (answer.known().isEmpty()) {
        if (ageNanos <= options.notFoundTtl().toNanos() || pass > 0) {
          return Optional.empty();
        }
        slots.remove(key, slot);
        continue;
      }
      if (ageNanos > options.maxStaleness().toNanos()) {
        throw unavailable("the identity service last confirmed the AccessKey " + accessKeyId + " "
            + Duration.ofNanos(ageNanos).toSeconds() + " s ago, and a confirmation may be used for"
            + " " + options.maxStaleness().toSeconds() + " s at most; retry when it answers again",
            accessKeyId);
      }
      return Optional.of(answer.known().get().key());
    }
  }

  /** The slot of {@code key}, created and loaded on this thread if there is none. */
  private Slot slotFor(CacheKey key) throws SignatureRejectedException {
    Slot slot = slots.get(key);
    if (slot != null) {
      return slot;
    }
    if (slots.size() >= options.entriesMax()) {
      forgetIdle(monotonic.nanos());
      if (slots.size() >= options.entriesMax()) {
        throw unavailable("this service already caches " + options.entriesMax()
            + " AccessKeys; retry when idle ones expire", key.accessKeyId());
      }
    }
    Slot fresh = new Slot(monotonic.nanos());
    Slot raced = slots.putIfAbsent(key, fresh);
    if (raced != null) {
      return raced;
    }
    try {
      Answer answer = fetch(key);
      store(key, fresh, answer);
      fresh.first.complete(answer);
    } catch (FetchFailure e) {
      // Not cached: the next call asks again. Those waiting now get the same failure.
      slots.remove(key, fresh);
      fresh.first.completeExceptionally(e);
    } catch (RuntimeException e) {
      slots.remove(key, fresh);
      fresh.first.completeExceptionally(e);
      throw e;
    }
    return fresh;
  }

  private Answer awaitAnswer(Slot slot, String accessKeyId) throws SignatureRejectedException {
    Answer answer = slot.answer;
    if (answer != null) {
      return answer;
    }
    try {
      // Bounded: the thread that created the slot completes it when its one call returns, which
      // the identity client's deadline bounds.
      return slot.first.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw unavailable("interrupted while asking the identity service about the AccessKey "
          + accessKeyId, accessKeyId);
    } catch (ExecutionException e) {
      throw unavailable(e.getCause().getMessage(), accessKeyId);
    }
  }

  /** Asks the identity service about one AccessKey on one day. */
  private Answer fetch(CacheKey key) throws FetchFailure {
    long askedAt = monotonic.nanos();
    GetServiceCredentialResponse response;
    try {
      response = identity.getServiceCredential(key.accessKeyId(),
          CredentialScope.DATE_FORMAT.format(key.date()), scope.service());
    } catch (StatusRuntimeException e) {
      Status.Code code = e.getStatus().getCode();
      if (code == Status.Code.NOT_FOUND) {
        return new Answer(Optional.empty(), askedAt);
      }
      String message = "cannot ask the identity service about the AccessKey "
          + key.accessKeyId() + ": " + code + " " + e.getStatus().getDescription();
      if (code == Status.Code.PERMISSION_DENIED || code == Status.Code.UNAUTHENTICATED) {
        // A configuration error of this service, not of the caller: say so where operators look.
        LOG.atError().addKeyValue("service", scope.service()).log(message);
      }
      return failed(message, code);
    }
    if (!response.getRegion().equals(scope.region())) {
      throw new FetchFailure("the identity service serves region " + response.getRegion()
          + ", but this service is configured for region " + scope.region(), false);
    }
    try {
      Principal principal = new Principal(response.getPrincipal().getTenant(),
          response.getPrincipal().getUserName(), key.accessKeyId());
      List<Policy> ownTenant = new ArrayList<>();
      List<Policy> crossTenant = new ArrayList<>();
      for (EffectivePolicy document : response.getPoliciesList()) {
        Policy policy = new Policy(document.getName(), PolicyDocument.parse(document.getDocument()));
        ownTenant.add(policy);
        CrossTenantPolicies.restrict(policy).ifPresent(crossTenant::add);
      }
      ResolvedSigningKey signingKey = new ResolvedSigningKey(
          response.getSigningKey().toByteArray(), response.getEnabled(), principal);
      return new Answer(Optional.of(new Known(signingKey, List.copyOf(response.getPoliciesList()),
          List.copyOf(ownTenant), List.copyOf(crossTenant))), askedAt);
    } catch (InvalidPolicyException | IllegalArgumentException e) {
      // An answer this service cannot read entirely (a newer policy language, say) is not used
      // in part: skipping a Deny would grant what the identity service would not.
      throw new FetchFailure("the identity service's answer about the AccessKey "
          + key.accessKeyId() + " cannot be used: " + e.getMessage(), false);
    }
  }

  private static Answer failed(String message, Status.Code code) throws FetchFailure {
    boolean unreachable = code == Status.Code.UNAVAILABLE
        || code == Status.Code.DEADLINE_EXCEEDED || code == Status.Code.CANCELLED;
    throw new FetchFailure(message, unreachable);
  }

  /**
   * Makes an answer the slot's, then, once it is visible, invalidates the decisions it may change
   * (the {@link DecisionCache} contract).
   */
  private void store(CacheKey key, Slot slot, Answer answer) {
    slot.answer = answer;
    if (answer.known().isPresent()) {
      Known known = answer.known().get();
      Known before = latestByAccessKey.put(key.accessKeyId(), known);
      Principal principal = known.key().principal();
      if (before == null || !before.documents().equals(known.documents())
          || !before.key().principal().equals(principal)) {
        decisions.invalidatePrincipal(principal.arn());
        if (before != null && !before.key().principal().equals(principal)) {
          decisions.invalidatePrincipal(before.key().principal().arn());
        }
      }
    } else {
      Known before = latestByAccessKey.remove(key.accessKeyId());
      if (before != null) {
        decisions.invalidatePrincipal(before.key().principal().arn());
      }
    }
  }

  private Optional<Known> known(Principal principal) {
    Known known = latestByAccessKey.get(principal.accessKeyId());
    // A principal whose AccessKey now names another user has no policies of that user.
    return known != null && known.key().principal().equals(principal)
        ? Optional.of(known) : Optional.empty();
  }

  // ------------------------------------------------------------------------------------ refresh

  /** Asks again about every cached AccessKey, and forgets what is idle or expired. */
  private void refreshRound() {
    try {
      long now = monotonic.nanos();
      forgetIdle(now);
      for (Map.Entry<CacheKey, Slot> entry : slots.entrySet()) {
        Answer answer = entry.getValue().answer;
        if (answer == null || answer.known().isEmpty()) {
          continue; // a first call still asking, or "no such AccessKey", which just expires
        }
        try {
          store(entry.getKey(), entry.getValue(), fetch(entry.getKey()));
        } catch (FetchFailure e) {
          LOG.atWarn().addKeyValue("service", scope.service())
              .addKeyValue("accessKeyId", entry.getKey().accessKeyId())
              .addKeyValue("problem", e.getMessage())
              .log("refreshing a cached AccessKey failed; its last answer stays in use until it is"
                  + " too old");
          if (e.unreachable) {
            return; // the next round tries again; asking about every other key now would not help
          }
        }
      }
    } catch (RuntimeException e) {
      // An escaping exception would cancel the schedule and leave every answer to go stale.
      LOG.atError().setCause(e).log("refreshing the service authenticator's cache failed");
    }
  }

  /**
   * Forgets the keys not used for {@link ServiceAuthenticatorOptions#maxStaleness()} (a later call
   * asks again), "no such AccessKey" answers past their time, and days before yesterday.
   */
  private void forgetIdle(long nowNanos) {
    LocalDate yesterday = LocalDate.ofInstant(clock.instant(), ZoneOffset.UTC).minusDays(1);
    long idleNanos = options.maxStaleness().toNanos();
    long notFoundNanos = options.notFoundTtl().toNanos();
    List<String> forgotten = new ArrayList<>();
    for (Map.Entry<CacheKey, Slot> entry : slots.entrySet()) {
      Slot slot = entry.getValue();
      Answer answer = slot.answer;
      if (answer == null) {
        continue;
      }
      boolean expired = entry.getKey().date().isBefore(yesterday)
          || nowNanos - slot.lastUsedNanos > idleNanos
          || (answer.known().isEmpty() && nowNanos - answer.askedAtNanos() > notFoundNanos);
      if (expired && slots.remove(entry.getKey(), slot)) {
        forgotten.add(entry.getKey().accessKeyId());
      }
    }
    for (String accessKeyId : forgotten) {
      boolean stillCached = slots.keySet().stream()
          .anyMatch(key -> key.accessKeyId().equals(accessKeyId));
      if (!stillCached) {
        Known before = latestByAccessKey.remove(accessKeyId);
        if (before != null) {
          decisions.invalidatePrincipal(before.key().principal().arn());
        }
      }
    }
  }

  private static SignatureRejectedException unavailable(String message, String accessKeyId) {
    return new SignatureRejectedException(
        SignatureError.SIGNING_KEY_UNAVAILABLE, message, accessKeyId);
  }

  /**
   * Stops the refresh thread, and closes the identity connection if {@link #connect} opened it.
   * Cached answers stay usable until they are too old.
   */
  @Override
  public void close() {
    refresher.shutdownNow();
    IdentityClient owned = ownedIdentity;
    if (owned != null) {
      owned.close();
    }
  }

  @Override
  public String toString() {
    return "ServiceAuthenticator[scope=" + scope + ", cachedEntries=" + slots.size() + "]";
  }
}
