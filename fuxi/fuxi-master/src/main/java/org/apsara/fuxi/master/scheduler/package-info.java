/**
 * FuxiMaster's scheduler core: a deterministic, single-threaded, event-driven allocator of cpu and
 * memory units to the roles of applications ({@link org.apsara.fuxi.master.scheduler.Scheduler}).
 *
 * <h2>Unit of a grant</h2>
 *
 * A grant is a count of units of one role on one machine, {@code Grant(app, role, machine, n)}, not
 * one id per unit. The scheduler keeps one {@code Allocation} per (application, role, machine):
 * granting 8 more units there is one counter update, one index update and one message, where
 * per-unit ids would cost 8 objects, 8 map entries and 8 messages. Releases and revocations name
 * (role, machine, count) the same way. Tubos and application masters map counts to their own worker
 * instances. This is what keeps 100,000 granted units per second cheap: work is per (role, machine)
 * batch, not per unit.
 *
 * <h2>Data structures and per-event cost</h2>
 *
 * n machines, q waiting demands, a allocations:
 *
 * <ul>
 *   <li><b>Free-capacity trees</b> ({@code FitIndex}): a segment tree over machine slots keeping
 *       the per-subtree maximum free cpu and maximum free memory; one for the cluster, one per
 *       rack, and one over capacities (to reject shapes larger than any machine). "A machine with
 *       room for this shape" descends only into subtrees whose maxima both suffice: O(log n),
 *       capped at {@link org.apsara.fuxi.master.scheduler.SchedulerLimits#MAX_FIT_NODE_VISITS} when
 *       free capacity is fragmented across dimensions. Updating a machine's free amount is O(log
 *       n), and stops at the first ancestor whose maxima it does not change.
 *   <li><b>Allocations</b>: each is a node of three intrusive doubly-linked lists, its machine's,
 *       its role's (both oldest first) and its victim list; a role also finds its allocation on a
 *       machine by the machine's integer slot ({@code SlotMap}, open addressing). Creating or
 *       deleting an allocation is O(1): pointer updates and one hash probe of an int, no
 *       comparator and no hashing of objects or strings.
 *   <li><b>Demands</b>: the units one role waits for at one location (machine, rack or cluster),
 *       one object per (role, location), found in O(1) through the role's maps.
 *   <li><b>Waiting queues</b>: one ordered set per machine, per rack and for the cluster, ordered
 *       by priority (larger first) then by a sequence number renewed whenever the demand is served,
 *       which gives round-robin fairness between applications and roles of equal priority. Insert,
 *       remove and requeue are O(log q).
 *   <li><b>Timers</b>: one ordered set of demands by deadline (machine wait, rack wait, then the
 *       preemption wait, then a retry every preemption wait while it starves). A tick pops only
 *       expired timers, at most {@link
 *       org.apsara.fuxi.master.scheduler.SchedulerLimits#MAX_TIMERS_PER_TICK}: O(log q) each.
 *   <li><b>Victim lists</b>: per quota group, one list per priority of its roles (kept in
 *       ascending priority, made when a role is defined), allocations appended as they are created.
 *       Walking the lists by ascending priority, each from its newest end, is the preemption
 *       order, least urgent first: lowest priority, then newest; adding and removing are O(1).
 *       Also the set of groups currently borrowing (above their minimum), kept up to date in O(1)
 *       at each usage change. A preemption probes at most {@link
 *       org.apsara.fuxi.master.scheduler.SchedulerLimits#MAX_VICTIM_PROBES} allocations per group
 *       (passing over empty lists, at most one per distinct priority of the group's roles) and
 *       plans on one machine from that machine's allocations.
 * </ul>
 *
 * Per event: a request is O(log q) plus O(log n) per machine it is granted on; a release, a new
 * machine or a revocation offers the machine to at most {@link
 * org.apsara.fuxi.master.scheduler.SchedulerLimits#MAX_OFFER_PROBES} demands of each of three
 * queues, walked in place and abandoned as soon as the machine is full in either dimension, each
 * demand served then requeued in O(log q); a lost machine or a gone application costs O(its
 * allocations and demands). Nothing walks all machines or all requests, except {@code
 * machineReports()} and {@code rebuild} (once per failover).
 *
 * <h2>Policy</h2>
 *
 * Locality first (machine queue, then rack, then cluster), priority within a queue, round-robin
 * within a priority. A quota group never exceeds its maximum; what it uses above its minimum is
 * borrowed and may be preempted ({@code PREEMPTED_FOR_QUOTA}) for a group whose request is within
 * its minimum and has waited the preemption wait at cluster level. Inside a group, a request that
 * has waited that long may preempt strictly lower priorities ({@code PREEMPTED_FOR_PRIORITY}).
 * Revoked units are not re-requested by the scheduler: the application master decides.
 *
 * <p>Quota groups can be changed and removed. {@code updateQuotaGroup} validates new bounds as a
 * definition is validated; a maximum lowered below the group's usage revokes its units at once
 * ({@code PREEMPTED_FOR_QUOTA}, least urgent first, exactly down to the new maximum: all of them
 * are borrowed since the minimum is at most the maximum), so that no group is ever above its
 * maximum; a raised maximum places the group's waiting requests at once; a raised minimum makes
 * the group's requests that already starve at cluster level due at the next {@code tick()}, which
 * preempts for those now within the minimum. The change costs O(the group's applications, roles
 * and waiting demands) plus its revocations; it is an administrative call. {@code
 * removeQuotaGroup} is refused while any application is registered in the group, which then
 * holds nothing.
 *
 * <p>Quotas have two dimensions: a request is guaranteed when its group's usage plus one unit fits
 * in the minimum in both; a group is borrowing when its usage exceeds the minimum in either, and
 * only while it is borrowing may a unit of it be taken for quota. Because offers and searches are
 * bounded, a waiting request may be passed over by one event (a queue head blocked by its group's
 * maximum, a fragmented cluster); every request waiting at cluster level is therefore retried by
 * {@code tick()} once per preemption wait, which bounds how long it can be overlooked.
 *
 * <h2>Determinism</h2>
 *
 * Time comes only from the injected {@link org.apsara.common.time.MonotonicClock}; every iteration
 * is over insertion-ordered or explicitly ordered collections; there is no randomness. The same
 * calls at the same clock readings give the same decisions, so a standby fed the same events, or a
 * simulation replayed from a seed, decides identically.
 */
package org.apsara.fuxi.master.scheduler;
