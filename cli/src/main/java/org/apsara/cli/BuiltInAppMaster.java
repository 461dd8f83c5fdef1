package org.apsara.cli;

import org.apsara.fuxi.client.examples.CommandAppMaster;

/**
 * The process {@code apsara fuxi submit} starts as an application's master when no {@code --am}
 * is given: Apsara's logging, then {@link CommandAppMaster}.
 *
 * <p>{@code fuxi-client} leaves the logging backend to whoever embeds it, and logback without a
 * configuration logs every library's DEBUG events; this process runs on the distribution's class
 * path, so it configures logback as every other Apsara process does.
 */
public final class BuiltInAppMaster {
  private BuiltInAppMaster() {}

  public static void main(String[] args) throws InterruptedException {
    LogSetup.forAppMaster();
    CommandAppMaster.main(args);
  }
}
