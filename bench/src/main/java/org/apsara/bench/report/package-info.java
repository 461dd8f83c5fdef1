/** What every benchmark report shares: the description of the machine it ran on. */
package org.apsara.bench.report;
