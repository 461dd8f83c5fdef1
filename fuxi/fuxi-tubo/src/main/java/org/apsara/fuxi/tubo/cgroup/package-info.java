/**
 * cgroup v1 and v2 behind one interface ({@link org.apsara.fuxi.tubo.cgroup.CgroupDriver}), found
 * from the mount table ({@link org.apsara.fuxi.tubo.cgroup.CgroupDrivers#open}); the weights and
 * quotas Tubo writes are in {@link org.apsara.fuxi.tubo.cgroup.CpuWeights}.
 */
package org.apsara.fuxi.tubo.cgroup;
