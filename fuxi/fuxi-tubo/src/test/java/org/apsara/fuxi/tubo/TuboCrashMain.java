package org.apsara.fuxi.tubo;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.apsara.fuxi.tubo.cgroup.CgroupMode;

/**
 * A Tubo that launches three workers and then waits to be killed, for {@link AdoptionTest}:
 * {@code long} runs until killed, {@code ends} runs until a file named {@code go} appears in its
 * sandbox and then exits with 3, {@code done} exits at once and is reported here. Prints {@code
 * LAUNCHED long=<pid> ends=<pid>} once all three are launched and {@code done} is reported.
 *
 * <p>Arguments: sandbox root, cgroup parent, cgroup mode.
 */
public final class TuboCrashMain {
  private TuboCrashMain() {}

  public static void main(String[] args) throws Exception {
    Path root = Path.of(args[0]);
    TuboConfig config = TuboTests.config(root, CgroupMode.valueOf(args[2]), args[1]);
    CountDownLatch doneReported = new CountDownLatch(1);
    WorkerSupervisor supervisor = WorkerSupervisor.start(config, exit -> {
      if (exit.workerId().equals("done")) {
        doneReported.countDown();
      }
    });
    supervisor.launch(WorkerSpec.of("done", "app-1", List.of("true"),
        WorkerClass.BATCH, 100, 64));
    doneReported.await();
    supervisor.launch(WorkerSpec.of("long", "app-1", List.of("sleep", "300"),
        WorkerClass.LATENCY_SENSITIVE, 300, 64).withRole("mappers"));
    supervisor.launch(WorkerSpec.of("ends", "app-1", List.of("sh", "-c",
        "while [ ! -f go ]; do sleep 0.05; done; exit 3"), WorkerClass.BATCH, 200, 64));
    long longPid = pidOf(supervisor, "long");
    long endsPid = pidOf(supervisor, "ends");
    System.out.println("LAUNCHED long=" + longPid + " ends=" + endsPid);
    System.out.flush();
    new CountDownLatch(1).await();
  }

  private static long pidOf(WorkerSupervisor supervisor, String workerId) {
    return supervisor.running().stream()
        .filter(r -> r.workerId().equals(workerId))
        .findFirst().orElseThrow().pid();
  }
}
