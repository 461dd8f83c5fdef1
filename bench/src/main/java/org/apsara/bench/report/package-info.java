/**
 * What every benchmark shares: the description of the machine it ran on, and the rule that says
 * when a system under load has warmed up.
 */
package org.apsara.bench.report;
