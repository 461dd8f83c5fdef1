package org.apsara.bench.cluster;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Builds the command line of a child JVM running with this JVM's own java binary and class path,
 * so that a member runs exactly the code the benchmark was built with. Thread-safe (stateless).
 */
public final class JavaCommand {
  /**
   * Heap of each member JVM. The same for every JVM-based system so that none is favoured; three
   * members plus the benchmark client fit comfortably in the memory of a small machine.
   */
  public static final String MEMBER_HEAP = "1g";

  private JavaCommand() {}

  /** The java executable of the running JVM. */
  public static String javaBinary() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  /**
   * This JVM's class path, which the members reuse, with every entry made absolute: members run
   * in directories of their own.
   */
  public static String currentClassPath() {
    return java.util.Arrays.stream(System.getProperty("java.class.path")
            .split(java.io.File.pathSeparator))
        .filter(entry -> !entry.isEmpty())
        .map(entry -> entry.endsWith("*")
            ? Path.of(entry.substring(0, entry.length() - 1)).toAbsolutePath() + "/*"
            : Path.of(entry).toAbsolutePath().toString())
        .collect(java.util.stream.Collectors.joining(java.io.File.pathSeparator));
  }

  /**
   * {@code java -Xms.. -Xmx.. <extraJvmOptions> -cp <this class path> mainClass args...}.
   *
   * @param extraJvmOptions options such as {@code -Dname=value}, placed before the class name
   */
  public static List<String> of(
      List<String> extraJvmOptions, String mainClass, List<String> arguments) {
    List<String> command = new ArrayList<>();
    command.add(javaBinary());
    command.add("-Xms" + MEMBER_HEAP);
    command.add("-Xmx" + MEMBER_HEAP);
    command.add("-Djava.net.preferIPv4Stack=true");
    command.addAll(extraJvmOptions);
    command.add("-cp");
    command.add(currentClassPath());
    command.add(mainClass);
    command.addAll(arguments);
    return command;
  }

  /** Whether {@code className} can be loaded from this JVM's class path (without loading it). */
  public static boolean isOnClassPath(String className) {
    String resource = className.replace('.', '/') + ".class";
    return ClassLoader.getSystemClassLoader().getResource(resource) != null;
  }
}
