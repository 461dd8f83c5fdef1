package org.apsara.tenant.server;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.Permission;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.apsara.nuwa.client.KeyRange;
import org.apsara.security.policy.Effect;
import org.apsara.security.policy.Policy;
import org.apsara.security.policy.Statement;

/**
 * What a tenant's user may do with Nuwa's keys according to its RAM policies, in the form that
 * Nuwa's (etcd's) own authentication enforces: key ranges, each READ, WRITE or READWRITE.
 *
 * <p><b>Names.</b> The key {@code /tenants/<tenant>/<path>} is the resource {@code
 * acs:nuwa:<region>:<tenant>:key/<path>}; reading it (Range, Watch, the compares of a Txn) is the
 * action {@value #READ_ACTION}, changing it (Put, DeleteRange, the writes of a Txn) {@value
 * #WRITE_ACTION}: exactly etcd's two permission types. So {@code {"Effect": "Allow", "Action":
 * "nuwa:*", "Resource": "acs:nuwa:*:acme:key/app/*"}} lets a user of acme read and write every key
 * under {@code /tenants/acme/app/}.
 *
 * <p><b>What is mapped, and how it errs.</b> Policies are evaluated as everywhere (default deny,
 * an explicit deny wins, {@code *} and {@code ?}), over the keys of the user's own tenant only.
 * Where etcd's ranges cannot say exactly what a statement says, the mapping errs towards less
 * access, and says so in {@link Grants#notMapped}:
 *
 * <ul>
 *   <li>a resource pattern maps to a range if, after its service, region and tenant fields, it is
 *       a literal key ({@code key/app/config}) or a literal prefix followed only by {@code *}
 *       ({@code key/app/*}); an {@code Allow} pattern of any other shape ({@code key/app/*&#47;db})
 *       grants nothing, a {@code Deny} pattern denies the whole prefix before its first wildcard;
 *   <li>an {@code Allow} with a {@code Condition} grants nothing (Nuwa cannot check the source
 *       address or the time of each request), a {@code Deny} with one denies always;
 *   <li>a {@code *} in the service, region or tenant field does not reach into the key, so that
 *       {@code acs:nuwa:*:acme:key/app/*} means the keys under {@code app/} and nothing else;
 *   <li>statements naming other tenants grant nothing here: a user reaches no other tenant's keys.
 * </ul>
 *
 * <p>Stateless and thread-safe.
 */
final class NuwaKeyGrants {
  /** The action of reading Nuwa keys. */
  static final String READ_ACTION = "nuwa:Read";
  /** The action of changing Nuwa keys. */
  static final String WRITE_ACTION = "nuwa:Write";
  /** Nuwa's resource type of keys: {@code acs:nuwa:<region>:<tenant>:key/<path>}. */
  static final String KEY_RESOURCE_TYPE = "key/";
  /**
   * The most permissions one user's policies may map to; beyond it the user gets none (and is
   * told why), since a partial list would grant an arbitrary part of what was meant.
   */
  static final int PERMISSIONS_MAX = 1000;

  private static final Comparator<ByteString> KEY_ORDER =
      ByteString.unsignedLexicographicalComparator();
  /** The fields before the resource's relative id: acs, service, region, tenant. */
  private static final int FIELD_SEPARATORS = 4;

  private NuwaKeyGrants() {}

  /**
   * What a user may do with Nuwa's keys.
   *
   * @param permissions Nuwa permissions, ordered by key, none overlapping another; empty if the
   *     policies grant nothing
   * @param notMapped for each statement that could not be mapped exactly, what was done instead
   */
  record Grants(List<Permission> permissions, List<String> notMapped) {}

  /**
   * The Nuwa permissions that {@code policies} (a user's, in the order {@link
   * IdentityView#policiesFor} gives them) grant a user of {@code tenant}.
   *
   * @param region this cluster's region, as resource names carry it
   */
  static Grants of(String tenant, String region, List<Policy> policies) {
    String resourcePrefix = "acs:nuwa:" + region + ":" + tenant + ":" + KEY_RESOURCE_TYPE;
    String keyPrefix = NuwaAuthSync.tenantKeyPrefix(tenant);
    List<Span> allowRead = new ArrayList<>();
    List<Span> allowWrite = new ArrayList<>();
    List<Span> denyRead = new ArrayList<>();
    List<Span> denyWrite = new ArrayList<>();
    Set<String> notMapped = new LinkedHashSet<>();
    for (Policy policy : policies) {
      List<Statement> statements = policy.document().statements();
      for (int index = 0; index < statements.size(); index++) {
        Statement statement = statements.get(index);
        boolean read = statement.matchesAction(READ_ACTION);
        boolean write = statement.matchesAction(WRITE_ACTION);
        if (!read && !write) {
          continue;
        }
        String where = "policy \"" + policy.name() + "\" Statement[" + index + "]";
        boolean allow = statement.effect() == Effect.ALLOW;
        if (allow && !statement.conditions().isEmpty()) {
          notMapped.add(where + ": Nuwa cannot check a Condition on each request, so this Allow"
              + " grants nothing in Nuwa");
          continue;
        }
        if (!allow && !statement.conditions().isEmpty()) {
          notMapped.add(where + ": Nuwa cannot check a Condition on each request, so this Deny"
              + " applies always in Nuwa");
        }
        List<Span> spans = new ArrayList<>();
        for (String pattern : statement.resources()) {
          Set<String> residues = residues(pattern, resourcePrefix);
          boolean exact = residues.stream().allMatch(NuwaKeyGrants::isKeyOrPrefix);
          if (!exact && allow) {
            notMapped.add(where + ": Nuwa's key ranges cannot express \"" + pattern
                + "\", so it grants nothing in Nuwa (end a pattern with a single *)");
            continue;
          }
          for (String rest : residues) {
            int wildcard = firstWildcard(rest);
            if (wildcard < 0) {
              spans.add(Span.key(keyPrefix + rest));
            } else {
              String literal = rest.substring(0, wildcard);
              spans.add(Span.prefix(keyPrefix + literal));
              if (!isKeyOrPrefix(rest)) {
                notMapped.add(where + ": Nuwa's key ranges cannot express \"" + pattern
                    + "\", so this Deny covers every key under " + keyPrefix + literal);
              }
            }
          }
        }
        if (read) {
          (allow ? allowRead : denyRead).addAll(spans);
        }
        if (write) {
          (allow ? allowWrite : denyWrite).addAll(spans);
        }
      }
    }
    List<Span> readable = subtract(union(allowRead), union(denyRead));
    List<Span> writable = subtract(union(allowWrite), union(denyWrite));
    List<Permission> permissions = permissions(readable, writable);
    if (permissions.size() > PERMISSIONS_MAX) {
      notMapped.add("the policies map to " + permissions.size() + " Nuwa key ranges, more than "
          + PERMISSIONS_MAX + "; none is granted (use fewer, wider patterns)");
      permissions = List.of();
    }
    return new Grants(List.copyOf(permissions), List.copyOf(notMapped));
  }

  /**
   * The patterns that what follows {@code prefix} must match for {@code pattern} to match the
   * whole text, one per way of matching {@code prefix}: the states of the glob's automaton after
   * reading it. For a pattern with all its resource fields, only ways in which the pattern's
   * fields line up with the prefix's count (a {@code *} in the region does not absorb the tenant).
   */
  static Set<String> residues(String pattern, String prefix) {
    Set<Integer> states = closure(pattern, Set.of(0));
    for (int i = 0; i < prefix.length() && !states.isEmpty(); ) {
      int c = prefix.codePointAt(i);
      i += Character.charCount(c);
      Set<Integer> next = new TreeSet<>();
      for (int state : states) {
        if (state == pattern.length()) {
          continue;
        }
        int p = pattern.codePointAt(state);
        if (p == '*') {
          next.add(state);
        } else if (p == '?' || p == c) {
          next.add(state + Character.charCount(p));
        }
      }
      states = closure(pattern, next);
    }
    int relativeIdStart = relativeIdStart(pattern);
    Set<String> residues = new TreeSet<>();
    for (int state : states) {
      if (state >= relativeIdStart) {
        residues.add(pattern.substring(state));
      }
    }
    return residues;
  }

  /** Where the relative id starts (after the fourth ':'), or 0 for a pattern with fewer fields. */
  private static int relativeIdStart(String pattern) {
    int at = -1;
    for (int i = 0; i < FIELD_SEPARATORS; i++) {
      at = pattern.indexOf(':', at + 1);
      if (at < 0) {
        return 0;
      }
    }
    return at + 1;
  }

  /** {@code states} and every state reachable from them by letting a {@code *} match nothing. */
  private static Set<Integer> closure(String pattern, Set<Integer> states) {
    Set<Integer> closed = new TreeSet<>(states);
    for (int state : states) {
      while (state < pattern.length() && pattern.charAt(state) == '*') {
        state++;
        closed.add(state);
      }
    }
    return closed;
  }

  private static int firstWildcard(String pattern) {
    for (int i = 0; i < pattern.length(); i++) {
      char c = pattern.charAt(i);
      if (c == '*' || c == '?') {
        return i;
      }
    }
    return -1;
  }

  /** Whether {@code residue} is a literal key, or a literal prefix followed only by stars. */
  private static boolean isKeyOrPrefix(String residue) {
    int wildcard = firstWildcard(residue);
    if (wildcard < 0) {
      return true;
    }
    for (int i = wildcard; i < residue.length(); i++) {
      if (residue.charAt(i) != '*') {
        return false;
      }
    }
    return true;
  }

  // ----------------------------------------------------------------------------------- key spans

  /** The keys from {@code start} (inclusive) to {@code end} (exclusive), in byte order. */
  private record Span(ByteString start, ByteString end) {
    static Span key(String key) {
      ByteString bytes = ByteString.copyFromUtf8(key);
      return new Span(bytes, bytes.concat(ByteString.copyFrom(new byte[] {0})));
    }

    static Span prefix(String prefix) {
      KeyRange range = KeyRange.prefix(prefix);
      return new Span(range.key(), range.rangeEnd());
    }

    boolean isSingleKey() {
      return end.size() == start.size() + 1 && end.startsWith(start)
          && end.byteAt(start.size()) == 0;
    }
  }

  /** The same keys as {@code spans}, as ordered spans that neither overlap nor touch. */
  private static List<Span> union(List<Span> spans) {
    List<Span> sorted = new ArrayList<>(spans);
    sorted.sort(Comparator.comparing(Span::start, KEY_ORDER));
    List<Span> merged = new ArrayList<>();
    for (Span span : sorted) {
      Span last = merged.isEmpty() ? null : merged.get(merged.size() - 1);
      if (last != null && KEY_ORDER.compare(span.start(), last.end()) <= 0) {
        if (KEY_ORDER.compare(span.end(), last.end()) > 0) {
          merged.set(merged.size() - 1, new Span(last.start(), span.end()));
        }
      } else {
        merged.add(span);
      }
    }
    return merged;
  }

  /** The keys of {@code from} that are not in {@code removed}; both as {@link #union} makes them. */
  private static List<Span> subtract(List<Span> from, List<Span> removed) {
    List<Span> left = new ArrayList<>();
    for (Span span : from) {
      ByteString start = span.start();
      for (Span hole : removed) {
        if (KEY_ORDER.compare(hole.end(), start) <= 0) {
          continue;
        }
        if (KEY_ORDER.compare(hole.start(), span.end()) >= 0) {
          break;
        }
        if (KEY_ORDER.compare(hole.start(), start) > 0) {
          left.add(new Span(start, hole.start()));
        }
        if (KEY_ORDER.compare(hole.end(), start) > 0) {
          start = hole.end();
        }
      }
      if (KEY_ORDER.compare(start, span.end()) < 0) {
        left.add(new Span(start, span.end()));
      }
    }
    return left;
  }

  /**
   * One permission per run of keys with the same access: READWRITE where both sets hold a key,
   * READ or WRITE where one does.
   */
  private static List<Permission> permissions(List<Span> readable, List<Span> writable) {
    TreeSet<ByteString> bounds = new TreeSet<>(KEY_ORDER);
    for (List<Span> spans : List.of(readable, writable)) {
      for (Span span : spans) {
        bounds.add(span.start());
        bounds.add(span.end());
      }
    }
    List<Permission> permissions = new ArrayList<>();
    ByteString runStart = null;
    Permission.Type runType = null;
    ByteString previous = null;
    for (ByteString bound : bounds) {
      if (previous != null) {
        Permission.Type type = typeOf(contains(readable, previous), contains(writable, previous));
        if (type != runType) {
          if (runType != null) {
            permissions.add(permission(runType, new Span(runStart, previous)));
          }
          runStart = previous;
          runType = type;
        }
      }
      previous = bound;
    }
    if (runType != null) {
      permissions.add(permission(runType, new Span(runStart, previous)));
    }
    return permissions;
  }

  /** The type of access to a key readable and/or writable; null for neither. */
  private static Permission.Type typeOf(boolean read, boolean write) {
    if (read && write) {
      return Permission.Type.READWRITE;
    }
    if (read) {
      return Permission.Type.READ;
    }
    return write ? Permission.Type.WRITE : null;
  }

  private static boolean contains(List<Span> spans, ByteString key) {
    for (Span span : spans) {
      if (KEY_ORDER.compare(span.start(), key) <= 0 && KEY_ORDER.compare(key, span.end()) < 0) {
        return true;
      }
    }
    return false;
  }

  private static Permission permission(Permission.Type type, Span span) {
    // A single key is written as etcd writes one: without a range end.
    return Permission.newBuilder().setPermType(type).setKey(span.start())
        .setRangeEnd(span.isSingleKey() ? ByteString.EMPTY : span.end()).build();
  }
}
