package org.apsara.testkit;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A child process for {@link ChildProcessTest}: logs a start line, then "tick N" every few
 * milliseconds until killed or stopped; on SIGTERM its shutdown hook logs "stopping". With the
 * argument {@code exit=N} it exits at once with code N.
 */
public final class TickerMain {
  private static final long TICK_INTERVAL_MS = 10;

  private TickerMain() {}

  public static void main(String[] args) throws InterruptedException {
    for (String arg : args) {
      if (arg.startsWith("exit=")) {
        System.out.println("exiting as asked");
        System.exit(Integer.parseInt(arg.substring("exit=".length())));
      }
    }
    AtomicLong ticks = new AtomicLong();
    Runtime.getRuntime().addShutdownHook(new Thread(
        () -> System.out.println("stopping after " + ticks.get() + " ticks")));
    System.out.println("started pid=" + ProcessHandle.current().pid()
        + " greeting=" + System.getProperty("ticker.greeting")
        + " env=" + System.getenv("TICKER_ENV")
        + " args=" + Arrays.toString(args));
    System.err.println("standard error works too");
    while (true) {
      System.out.println("tick " + ticks.incrementAndGet());
      Thread.sleep(TICK_INTERVAL_MS);
    }
  }
}
