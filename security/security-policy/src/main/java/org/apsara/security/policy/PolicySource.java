package org.apsara.security.policy;

import java.util.List;

/**
 * Supplies the policies that apply to a principal: those attached to it and to its groups. The
 * {@link DecisionCache} calls it on every miss.
 */
@FunctionalInterface
public interface PolicySource {
  /**
   * Returns the policies that currently apply to {@code principal}, in a stable order (the order
   * decides which statement a decision names). May be called from many threads at once.
   */
  List<Policy> policiesFor(String principal);
}
