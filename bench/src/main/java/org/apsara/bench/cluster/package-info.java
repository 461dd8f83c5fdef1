/**
 * Local clusters for side-by-side benchmarks: real etcd, ZooKeeper and Nuwa members started as
 * child OS processes on 127.0.0.1, each with free ports and its own temporary data directory,
 * stopped and deleted on close. Start-up is bounded in time and a failure names the member and
 * its log file.
 */
package org.apsara.bench.cluster;
