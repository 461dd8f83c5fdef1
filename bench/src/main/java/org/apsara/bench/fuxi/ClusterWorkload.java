package org.apsara.bench.fuxi;

import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.apsara.fuxi.master.scheduler.Resources;

/**
 * The simulated cluster and its applications, drawn from the seed: machine and rack ids, quota
 * groups, and per application its group, priority, unit shape and share of the cluster's cpu.
 * Immutable after construction; the same options give the same workload.
 */
final class ClusterWorkload {
  /** Machines per rack; racks matter to the scheduler's indexes even for cluster-wide requests. */
  static final int MACHINES_PER_RACK = 40;

  /** Every application's one role; the scheduler's reserved "fuxi." prefix is left to the AM. */
  static final String ROLE = "task";

  /** Priorities drawn uniformly per application: four classes of urgency, most urgent first. */
  static final int[] PRIORITIES = {400, 300, 200, 100};

  /**
   * Each quota group is guaranteed this share of the cluster divided by the number of groups; the
   * rest of the cluster is borrowable by any group (every group's maximum is the whole cluster).
   */
  static final double QUOTA_MIN_SHARE = 0.8;

  /**
   * Unit shapes and how often an application picks each. Together they ask for 4 GiB per core,
   * the ratio of the default machine, so that neither dimension alone caps the cpu share; the
   * memory-heavy and cpu-heavy shapes still fragment machines, as real mixes do.
   */
  record ShapeChoice(Resources shape, int weight) {}

  static final List<ShapeChoice> SHAPES =
      List.of(
          new ShapeChoice(Resources.of(1_000, 4_096), 4),
          new ShapeChoice(Resources.of(2_000, 8_192), 2),
          new ShapeChoice(Resources.of(500, 2_048), 2),
          new ShapeChoice(Resources.of(1_000, 6_144), 1),
          new ShapeChoice(Resources.of(4_000, 8_192), 1));

  final String[] machineIds;
  final String[] rackIds;
  final Resources machineCapacity;
  final String[] groupNames;
  final Resources groupMin;
  final Resources groupMax;
  final String[] appIds;
  final int[] appGroup;
  final int[] appPriority;
  /** The index of the application's priority in {@link #PRIORITIES}. */
  final int[] appPriorityClass;
  final Resources[] appShape;
  /** The application's share of the cluster's cpu; the shares sum to 1. */
  final double[] appCpuShare;

  ClusterWorkload(FuxiBenchmark.Options options) {
    SplittableRandom random = new SplittableRandom(options.seed());
    int machines = options.machines();
    machineCapacity =
        Resources.of(options.coresPerMachine() * 1_000L, options.memoryGiBPerMachine() * 1_024L);
    machineIds = new String[machines];
    rackIds = new String[machines];
    for (int i = 0; i < machines; i++) {
      machineIds[i] = String.format(Locale.ROOT, "m%05d", i);
      rackIds[i] = String.format(Locale.ROOT, "r%04d", i / MACHINES_PER_RACK);
    }
    Resources cluster = clusterCapacity();
    int groups = options.quotaGroups();
    groupNames = new String[groups];
    for (int g = 0; g < groups; g++) {
      groupNames[g] = "group-" + g;
    }
    groupMin =
        Resources.of(
            (long) (cluster.cpuMillis() * QUOTA_MIN_SHARE / groups),
            (long) (cluster.memoryMiB() * QUOTA_MIN_SHARE / groups));
    groupMax = cluster;
    int apps = options.applications();
    appIds = new String[apps];
    appGroup = new int[apps];
    appPriority = new int[apps];
    appPriorityClass = new int[apps];
    appShape = new Resources[apps];
    appCpuShare = new double[apps];
    int totalWeight = SHAPES.stream().mapToInt(ShapeChoice::weight).sum();
    double shareSum = 0;
    for (int a = 0; a < apps; a++) {
      appIds[a] = String.format(Locale.ROOT, "app-%05d", a);
      appGroup[a] = a % groups;
      appPriorityClass[a] = random.nextInt(PRIORITIES.length);
      appPriority[a] = PRIORITIES[appPriorityClass[a]];
      int pick = random.nextInt(totalWeight);
      for (ShapeChoice choice : SHAPES) {
        pick -= choice.weight();
        if (pick < 0) {
          appShape[a] = choice.shape();
          break;
        }
      }
      // Applications differ in size by up to 3x, as jobs do.
      appCpuShare[a] = 0.5 + random.nextDouble();
      shareSum += appCpuShare[a];
    }
    for (int a = 0; a < apps; a++) {
      appCpuShare[a] /= shareSum;
    }
  }

  Resources clusterCapacity() {
    return machineCapacity.times(machineIds.length);
  }

  /**
   * Units application {@code app} keeps running or waiting when the whole workload asks for
   * {@code load} times the cluster's cpu: at least one.
   */
  int targetUnits(int app, double load) {
    double cpu = load * clusterCapacity().cpuMillis() * appCpuShare[app];
    return (int) Math.max(1, Math.round(cpu / appShape[app].cpuMillis()));
  }
}
