package org.apsara.tenant.server;

import com.google.protobuf.ByteString;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Function;
import org.apsara.nuwa.client.CompactedException;
import org.apsara.nuwa.client.GetOptions;
import org.apsara.nuwa.client.GetResponse;
import org.apsara.nuwa.client.KeyRange;
import org.apsara.nuwa.client.KeyValue;
import org.apsara.nuwa.client.NuwaClient;
import org.apsara.nuwa.client.NuwaException;
import org.apsara.nuwa.client.WatchEvent;
import org.apsara.nuwa.client.WatchListener;
import org.apsara.nuwa.client.WatchOptions;
import org.apsara.nuwa.client.WatchResponse;
import org.apsara.nuwa.client.Watcher;
import org.apsara.security.crypto.SecretBox;
import org.apsara.security.crypto.SecretBoxException;
import org.apsara.security.policy.CrossTenantPolicies;
import org.apsara.security.policy.DecisionCache;
import org.apsara.security.policy.InvalidPolicyException;
import org.apsara.security.policy.Policy;
import org.apsara.security.policy.PolicyDocument;
import org.apsara.security.policy.PolicySource;
import org.apsara.security.sign.AccessKeyResolver;
import org.apsara.security.sign.Principal;
import org.apsara.security.sign.ResolvedAccessKey;
import org.apsara.tenant.api.ResourceName;
import org.apsara.tenant.api.TenantAuthorizer;
import org.apsara.tenant.server.store.IdentityKeys;
import org.apsara.tenant.server.store.IdentityKeys.AccessKeyKey;
import org.apsara.tenant.server.store.IdentityKeys.GroupAttachmentKey;
import org.apsara.tenant.server.store.IdentityKeys.MembershipKey;
import org.apsara.tenant.server.store.IdentityKeys.Parsed;
import org.apsara.tenant.server.store.IdentityKeys.PolicyKey;
import org.apsara.tenant.server.store.IdentityKeys.TenantKey;
import org.apsara.tenant.server.store.IdentityKeys.UserAttachmentKey;
import org.apsara.tenant.server.store.IdentityStore;
import org.apsara.tenant.server.store.proto.AccessKeyRecord;
import org.apsara.tenant.server.store.proto.PolicyRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What authentication and authorization need of the identity store, in memory and kept up to date:
 * AccessKeys with their opened secrets ({@link AccessKeyResolver}), and the policies that apply to
 * each user, its own and its groups' ({@link PolicySource}, {@link
 * TenantAuthorizer.PrincipalPolicies}).
 *
 * <p><b>Following the store.</b> {@link #start} reads everything under {@link IdentityKeys#ROOT}
 * at one revision, then watches the prefix from the next revision on, applying each revision's
 * changes as they come. If the watch loses history (the store was compacted past it while it was
 * disconnected) or fails for good, the view reads everything again and watches from there,
 * retrying with backoff while Nuwa is unreachable; meanwhile it keeps answering from what it has.
 *
 * <p><b>Decision cache.</b> After a change is visible here, the affected principals' entries of the
 * {@link DecisionCache} are invalidated (the cache's contract): a user's own memberships and
 * attachments invalidate that user; a change to a policy or a group's attachments, and a reload,
 * invalidate everything, since they may reach many users.
 *
 * <p><b>Freshness.</b> {@link #revision()} is the store revision whose changes are all visible and
 * have invalidated the cache; {@link #awaitRevision} waits for it to reach a revision, for example
 * that of a write just made, so that the writer sees its own change.
 *
 * <p><b>Listeners.</b> {@link #addChangeListener} tells {@link NuwaAuthSync} that the tenants or
 * AccessKeys may have changed; it then reads them with {@link #accessSnapshot}.
 *
 * <p>Thread-safe. Lookups take a read lock and never block on I/O; changes are applied on the Nuwa
 * client's callback threads, one revision at a time.
 */
public final class IdentityView
    implements AccessKeyResolver, PolicySource, TenantAuthorizer.PrincipalPolicies, AutoCloseable {
  /** Keys read per request when the view (re)loads, so that no response grows without bound. */
  public static final int LOAD_PAGE_KEYS = 1000;
  /** How often {@link #awaitRevision} asks the watch to report its progress while it waits. */
  public static final Duration PROGRESS_REQUEST_INTERVAL = Duration.ofMillis(100);
  static final Duration RELOAD_BACKOFF_INITIAL = Duration.ofMillis(100);
  static final Duration RELOAD_BACKOFF_MAX = Duration.ofSeconds(5);

  private static final Logger LOG = LoggerFactory.getLogger(IdentityView.class);

  private final NuwaClient nuwa;
  private final SecretBox secretBox;
  private final DecisionCache decisions;

  private final ReadWriteLock imageLock = new ReentrantReadWriteLock();
  // Guarded by imageLock.
  private Image image = new Image();

  // Serializes the writers: loads and watch callbacks. Guards the fields below it.
  private final Object followLock = new Object();
  private int generation;
  private int failedReloads;
  private boolean closed;
  // Written under followLock; read without it to ask for progress.
  private volatile Watcher watcher;

  private final Object revisionMonitor = new Object();
  private volatile long revision;
  private volatile boolean following;

  private final List<Runnable> changeListeners = new CopyOnWriteArrayList<>();

  private IdentityView(NuwaClient nuwa, SecretBox secretBox, DecisionCache decisions) {
    this.nuwa = Objects.requireNonNull(nuwa, "nuwa");
    this.secretBox = Objects.requireNonNull(secretBox, "secretBox");
    this.decisions = Objects.requireNonNull(decisions, "decisions");
  }

  /**
   * Loads the view and starts following the store.
   *
   * @param secretBox opens the AccessKey secrets; must hold the master key they were sealed with
   * @param decisions the cache to invalidate on changes
   * @throws NuwaException if the first load fails
   */
  public static IdentityView start(NuwaClient nuwa, SecretBox secretBox, DecisionCache decisions) {
    IdentityView view = new IdentityView(nuwa, secretBox, decisions);
    synchronized (view.followLock) {
      view.load();
    }
    return view;
  }

  // -------------------------------------------------------------------------------------- lookups

  @Override
  public Optional<ResolvedAccessKey> resolve(String accessKeyId) {
    return read(image -> Optional.ofNullable(image.accessKeys.get(accessKeyId)));
  }

  /**
   * The tenants, the AccessKeys (with opened secrets, enabled or not) and the policies of their
   * users as they are now, for {@link NuwaAuthSync}. Consistent: taken under the read lock, so no
   * change is half in it.
   */
  AccessSnapshot accessSnapshot() {
    return read(image -> {
      Map<String, List<Policy>> policies = new HashMap<>();
      for (ResolvedAccessKey key : image.accessKeys.values()) {
        Principal principal = key.principal();
        policies.computeIfAbsent(principal.arn(), arn -> image.policiesOf(
            principal.tenantId(), principal.userName(), false));
      }
      return new AccessSnapshot(revision, Set.copyOf(image.tenants),
          List.copyOf(image.accessKeys.values()), Map.copyOf(policies));
    });
  }

  /**
   * What {@link #accessSnapshot} returns.
   *
   * @param revision every change up to this store revision is in it (later ones may be too)
   * @param policiesByUser for the user (by ARN) of each AccessKey: its policies, as {@link
   *     #policiesFor} gives them
   */
  record AccessSnapshot(long revision, Set<String> tenants, List<ResolvedAccessKey> accessKeys,
      Map<String, List<Policy>> policiesByUser) {}

  /**
   * Calls {@code listener} after every change that became visible here, and after every reload.
   * It runs on the thread applying the change, with the view's writer lock held: it must return
   * at once (hand the work to a thread of its own) and must not call back into the view's writers.
   */
  void addChangeListener(Runnable listener) {
    changeListeners.add(Objects.requireNonNull(listener, "listener"));
  }

  private void notifyChangeListeners() {
    for (Runnable listener : changeListeners) {
      try {
        listener.run();
      } catch (RuntimeException e) {
        // A listener's bug must not stop the view from following the store.
        LOG.atError().setCause(e).log("an identity view change listener failed");
      }
    }
  }

  /**
   * The policies of the user named by {@code principal} (its ARN, {@code
   * acs:ram::<tenant>:user/<name>}): those attached to it in name order, then those of each of its
   * groups, groups in name order. Empty for an unknown user or anything that is not a user's ARN.
   */
  @Override
  public List<Policy> policiesFor(String principal) {
    ResourceName arn;
    try {
      arn = ResourceName.parse(principal);
    } catch (IllegalArgumentException e) {
      return List.of();
    }
    if (!arn.service().equals(ResourceName.RAM) || !arn.relativeId().startsWith("user/")) {
      return List.of();
    }
    String user = arn.relativeId().substring("user/".length());
    return read(image -> image.policiesOf(arn.tenant(), user, false));
  }

  /** The policies of {@code principal}'s user, as {@link #policiesFor} gives them. */
  @Override
  public List<Policy> ownTenantPolicies(Principal principal) {
    return read(image -> image.policiesOf(principal.tenantId(), principal.userName(), false));
  }

  /**
   * The same policies as {@link #ownTenantPolicies}, in the form that applies to resources of
   * other tenants (see {@link CrossTenantPolicies}).
   */
  @Override
  public List<Policy> crossTenantPolicies(Principal principal) {
    return read(image -> image.policiesOf(principal.tenantId(), principal.userName(), true));
  }

  /**
   * An AccessKey (with its opened secret, enabled or not) and the policies of its user, read
   * together so that no change is half in the answer; empty for an unknown AccessKey.
   */
  Optional<KeyWithPolicies> accessKeyWithPolicies(String accessKeyId) {
    return read(image -> {
      ResolvedAccessKey key = image.accessKeys.get(accessKeyId);
      if (key == null) {
        return Optional.empty();
      }
      Principal owner = key.principal();
      return Optional.of(new KeyWithPolicies(
          key, image.policiesOf(owner.tenantId(), owner.userName(), false)));
    });
  }

  /** What {@link #accessKeyWithPolicies} returns. */
  record KeyWithPolicies(ResolvedAccessKey key, List<Policy> policies) {}

  private <T> T read(Function<Image, T> lookup) {
    imageLock.readLock().lock();
    try {
      return lookup.apply(image);
    } finally {
      imageLock.readLock().unlock();
    }
  }

  // ------------------------------------------------------------------------------------ freshness

  /** The store revision up to which every change is visible here. */
  public long revision() {
    return revision;
  }

  /** Whether the view is watching the store now (false while it reloads after a failure). */
  public boolean isFollowing() {
    return following;
  }

  /**
   * Waits until every change up to {@code revision} is visible here.
   *
   * @return whether it is, false if {@code timeout} passed first
   */
  public boolean awaitRevision(long revision, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (this.revision < revision) {
      long remainingNanos = deadline - System.nanoTime();
      if (remainingNanos <= 0) {
        return false;
      }
      // Changes elsewhere in the store move its revision without telling this watch; progress
      // reports do.
      Watcher current = watcher;
      if (current != null) {
        current.requestProgress();
      }
      long waitNanos = Math.min(remainingNanos, PROGRESS_REQUEST_INTERVAL.toNanos());
      synchronized (revisionMonitor) {
        if (this.revision < revision) {
          TimeUnit.NANOSECONDS.timedWait(revisionMonitor, waitNanos);
        }
      }
    }
    return true;
  }

  private void publish(long reached) {
    synchronized (revisionMonitor) {
      if (reached > revision) {
        revision = reached;
        revisionMonitor.notifyAll();
      }
    }
  }

  @Override
  public void close() {
    synchronized (followLock) {
      closed = true;
      generation++;
      following = false;
      if (watcher != null) {
        watcher.cancel();
        watcher = null;
      }
    }
  }

  // -------------------------------------------------------------------------------------- loading

  /** Reads everything at one revision, replaces the image, and watches from there. */
  private void load() {
    Image loaded = new Image();
    KeyRange all = KeyRange.prefix(IdentityKeys.ROOT);
    ByteString from = all.key();
    long loadedAt = 0;
    while (true) {
      GetResponse page = nuwa.kv().get(KeyRange.between(from, all.rangeEnd()),
          GetOptions.builder().revision(loadedAt).limit(LOAD_PAGE_KEYS).build());
      if (loadedAt == 0) {
        loadedAt = page.header().revision();
      }
      for (KeyValue kv : page.kvs()) {
        loaded.apply(kv.keyUtf8(), kv.value(), new Invalidation());
      }
      if (!page.more() || page.kvs().isEmpty()) {
        break;
      }
      from = page.kvs().get(page.kvs().size() - 1).key().concat(ByteString.copyFrom(new byte[1]));
    }
    imageLock.writeLock().lock();
    try {
      image = loaded;
    } finally {
      imageLock.writeLock().unlock();
    }
    decisions.invalidateAll();
    synchronized (revisionMonitor) {
      // A fresh linearizable read is at least as new as anything published before; max() only
      // keeps the promise that the revision never moves back.
      revision = Math.max(revision, loadedAt);
      revisionMonitor.notifyAll();
    }
    notifyChangeListeners();
    int myGeneration = ++generation;
    watcher = nuwa.watch().watch(all,
        WatchOptions.builder().startRevision(loadedAt + 1).build(), new Follower(myGeneration));
    following = true;
    LOG.atInfo().addKeyValue("revision", loadedAt)
        .addKeyValue("accessKeys", loaded.accessKeys.size())
        .addKeyValue("policies", loaded.policies.size())
        .log("identity view loaded");
  }

  private void reloadLater() {
    long delayMs;
    synchronized (followLock) {
      delayMs = Math.min(RELOAD_BACKOFF_MAX.toMillis(),
          RELOAD_BACKOFF_INITIAL.toMillis() << Math.min(failedReloads, 10));
    }
    CompletableFuture.runAsync(this::reload,
        CompletableFuture.delayedExecutor(delayMs, TimeUnit.MILLISECONDS, nuwa.callbackExecutor()));
  }

  private void reload() {
    synchronized (followLock) {
      if (closed) {
        return;
      }
      try {
        load();
        failedReloads = 0;
      } catch (RuntimeException e) {
        // Usually Nuwa unreachable (a NuwaException); anything else is retried the same way,
        // since giving up would leave the view stale for good.
        failedReloads++;
        LOG.atWarn().addKeyValue("attempt", failedReloads).addKeyValue("error", e.getMessage())
            .log("reloading the identity view failed; retrying");
        reloadLater();
      }
    }
  }

  /** Applies one watch's changes, as long as that watch is the current one. */
  private final class Follower implements WatchListener {
    private final int myGeneration;

    Follower(int generation) {
      this.myGeneration = generation;
    }

    @Override
    public void onNext(WatchResponse response) {
      synchronized (followLock) {
        if (closed || myGeneration != generation) {
          return;
        }
        Invalidation invalidation = new Invalidation();
        imageLock.writeLock().lock();
        try {
          for (WatchEvent event : response.events()) {
            image.apply(event.kv().keyUtf8(),
                event.type() == WatchEvent.Type.PUT ? event.kv().value() : null, invalidation);
          }
        } finally {
          imageLock.writeLock().unlock();
        }
        // Visible first, then invalidated, then announced: whoever waits for this revision finds
        // no decision cached from before it.
        invalidation.applyTo(decisions);
        publish(response.events().get(response.events().size() - 1).revision());
        notifyChangeListeners();
      }
    }

    @Override
    public void onProgress(long reached) {
      synchronized (followLock) {
        if (!closed && myGeneration == generation) {
          publish(reached);
        }
      }
    }

    @Override
    public void onError(NuwaException error) {
      synchronized (followLock) {
        if (closed || myGeneration != generation) {
          return;
        }
        following = false;
        watcher = null;
      }
      if (error instanceof CompactedException) {
        LOG.atInfo().log("the identity view's watch lost history to compaction; reloading");
      } else {
        LOG.atWarn().addKeyValue("error", error.getMessage())
            .log("the identity view's watch ended; reloading");
      }
      reloadLater();
    }
  }

  // ---------------------------------------------------------------------------------------- state

  /** Which cached decisions a change may have made wrong. Not thread-safe. */
  private static final class Invalidation {
    private final Set<String> principals = new HashSet<>();
    private boolean all;

    void principal(String tenant, String user) {
      principals.add(ResourceName.user(tenant, user).toString());
    }

    void all() {
      all = true;
    }

    void applyTo(DecisionCache decisions) {
      if (all) {
        decisions.invalidateAll();
      } else {
        principals.forEach(decisions::invalidatePrincipal);
      }
    }
  }

  private record PolicyEntry(Policy policy, Optional<Policy> crossTenant) {}

  private static String userKey(String tenant, String name) {
    return tenant + "/" + name;
  }

  /**
   * The state itself. Mutated only by the writer holding {@code followLock} (under the write lock
   * once it is shared), read under the read lock.
   */
  private final class Image {
    final Set<String> tenants = new HashSet<>();
    final Map<String, ResolvedAccessKey> accessKeys = new HashMap<>();
    /** By "tenant/policy". */
    final Map<String, PolicyEntry> policies = new HashMap<>();
    /** By "tenant/user": the user's groups. */
    final Map<String, SortedSet<String>> groupsOfUser = new HashMap<>();
    /** By "tenant/user": policies attached to the user. */
    final Map<String, SortedSet<String>> policiesOfUser = new HashMap<>();
    /** By "tenant/group": policies attached to the group. */
    final Map<String, SortedSet<String>> policiesOfGroup = new HashMap<>();

    /** The policies of a user: its own in name order, then each group's, groups in name order. */
    List<Policy> policiesOf(String tenant, String userName, boolean crossTenant) {
      String user = userKey(tenant, userName);
      Map<String, Policy> applicable = new LinkedHashMap<>();
      addPolicies(applicable, tenant, policiesOfUser.get(user), crossTenant);
      for (String group : groupsOfUser.getOrDefault(user, new TreeSet<>())) {
        addPolicies(applicable, tenant, policiesOfGroup.get(userKey(tenant, group)), crossTenant);
      }
      return List.copyOf(applicable.values());
    }

    void addPolicies(Map<String, Policy> out, String tenant, SortedSet<String> names,
        boolean crossTenant) {
      if (names == null) {
        return;
      }
      for (String name : names) {
        PolicyEntry entry = policies.get(userKey(tenant, name));
        if (entry == null) {
          continue; // attached but deleted: the store forbids it, a reload mid-change may see it
        }
        Optional<Policy> policy = crossTenant ? entry.crossTenant() : Optional.of(entry.policy());
        policy.ifPresent(p -> out.putIfAbsent(p.name(), p));
      }
    }

    /** Applies a put ({@code value} non-null) or a delete of {@code key}. */
    void apply(String key, ByteString value, Invalidation invalidation) {
      Parsed parsed = IdentityKeys.parse(key).orElse(null);
      if (parsed instanceof TenantKey k) {
        // Decides nothing here, but each tenant has a Nuwa role (NuwaAuthSync).
        if (value == null) {
          tenants.remove(k.tenant());
        } else {
          tenants.add(k.tenant());
        }
      } else if (parsed instanceof AccessKeyKey k) {
        applyAccessKey(k, key, value);
      } else if (parsed instanceof PolicyKey k) {
        applyPolicy(k, key, value);
        invalidation.all();
      } else if (parsed instanceof MembershipKey k) {
        link(groupsOfUser, userKey(k.tenant(), k.user()), k.group(), value != null);
        invalidation.principal(k.tenant(), k.user());
      } else if (parsed instanceof UserAttachmentKey k) {
        link(policiesOfUser, userKey(k.tenant(), k.user()), k.policy(), value != null);
        invalidation.principal(k.tenant(), k.user());
      } else if (parsed instanceof GroupAttachmentKey k) {
        link(policiesOfGroup, userKey(k.tenant(), k.group()), k.policy(), value != null);
        invalidation.all();
      }
      // Users and groups themselves decide nothing: what hangs off them does.
    }

    private void applyAccessKey(AccessKeyKey k, String key, ByteString value) {
      if (value == null) {
        accessKeys.remove(k.accessKeyId());
        return;
      }
      try {
        AccessKeyRecord record = IdentityStore.decode(key, value, AccessKeyRecord.parser());
        byte[] secret = secretBox.decrypt(record.getSealedSecret().toByteArray(),
            IdentityStore.associatedData(k.accessKeyId()));
        Principal owner = new Principal(k.tenant(), k.user(), k.accessKeyId());
        ResolvedAccessKey previous = accessKeys.put(k.accessKeyId(), new ResolvedAccessKey(
            new String(secret, StandardCharsets.UTF_8), record.getEnabled(), owner));
        if (previous != null && !previous.principal().equals(owner)) {
          // Ids carry about 119 random bits; two users with one id means the store was edited
          // by hand. The later key wins, as it would in the store's own order.
          LOG.atError().addKeyValue("accessKeyId", k.accessKeyId())
              .log("one AccessKey id belongs to two users");
        }
      } catch (SecretBoxException | RuntimeException e) {
        // Never the secret in the log: only which key and why (the message says neither key
        // material nor plaintext).
        accessKeys.remove(k.accessKeyId());
        LOG.atError().addKeyValue("accessKeyId", k.accessKeyId())
            .addKeyValue("problem", e.getMessage())
            .log("cannot open an AccessKey's secret; the key will not authenticate");
      }
    }

    private void applyPolicy(PolicyKey k, String key, ByteString value) {
      String id = userKey(k.tenant(), k.policy());
      if (value == null) {
        policies.remove(id);
        return;
      }
      try {
        PolicyRecord record = IdentityStore.decode(key, value, PolicyRecord.parser());
        Policy policy = new Policy(k.policy(), PolicyDocument.parse(record.getDocument()));
        policies.put(id, new PolicyEntry(policy, CrossTenantPolicies.restrict(policy)));
      } catch (InvalidPolicyException | RuntimeException e) {
        // The store validates documents, so this is a record written by something else; an
        // unreadable policy grants nothing.
        policies.remove(id);
        LOG.atError().addKeyValue("policy", id).addKeyValue("problem", e.getMessage())
            .log("cannot read a stored policy; it will not apply");
      }
    }

    private void link(Map<String, SortedSet<String>> links, String from, String to,
        boolean present) {
      if (present) {
        links.computeIfAbsent(from, unused -> new TreeSet<>()).add(to);
        return;
      }
      SortedSet<String> targets = links.get(from);
      if (targets != null) {
        targets.remove(to);
        if (targets.isEmpty()) {
          links.remove(from);
        }
      }
    }
  }

  /** For tests: the policy names that apply to a principal, in evaluation order. */
  List<String> policyNamesFor(String principal) {
    List<String> names = new ArrayList<>();
    policiesFor(principal).forEach(p -> names.add(p.name()));
    return names;
  }
}
