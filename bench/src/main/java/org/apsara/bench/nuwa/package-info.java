/**
 * {@code apsara bench nuwa}: Nuwa side by side with etcd and ZooKeeper under the same closed-loop
 * workload of puts and linearizable gets; entry point {@link org.apsara.bench.nuwa.NuwaBenchmark}.
 */
package org.apsara.bench.nuwa;
