/**
 * {@code apsara bench fuxi}: FuxiMaster's scheduler core under a simulated cluster of thousands of
 * machines and a thousand applications, driven by one thread as the master's event loop would
 * drive it. The entry point is {@link org.apsara.bench.fuxi.FuxiBenchmark}.
 */
package org.apsara.bench.fuxi;
