package org.apsara.fuxi.master.scheduler;

/**
 * A quota group's configuration: the guaranteed minimum and the ceiling of what its applications
 * hold together. Immutable.
 */
public record QuotaGroupSpec(String name, Resources min, Resources max) {}
