package org.apsara.fuxi.master.scheduler;

import java.util.Map;

/**
 * A snapshot of the scheduler's counters ({@link Scheduler#stats()}), for metrics and health.
 * Immutable. Unit counters are cumulative; the others are current sizes.
 *
 * @param waitingDemands (role, location) pairs with units waiting
 * @param pendingUnits units waiting, over all roles
 */
public record SchedulerStats(
    int machines,
    int racks,
    int applications,
    int quotaGroups,
    int borrowingGroups,
    int waitingDemands,
    long pendingUnits,
    long grantedUnits,
    long releasedUnits,
    Map<RevokeReason, Long> revokedUnits) {}
