package org.apsara.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import org.apsara.common.net.HostPort;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class TcpProxyTest {
  /** How long a test watches a connection to see that nothing arrives. */
  private static final int SILENCE_MS = 300;
  private static final int READ_TIMEOUT_MS = 5_000;

  private EchoServer echo;
  private TcpProxy proxy;

  @BeforeEach
  void start() throws IOException {
    echo = new EchoServer();
    proxy = TcpProxy.start(echo.address());
  }

  @AfterEach
  void stop() throws Exception {
    proxy.close();
    echo.close();
  }

  @Test
  void passForwardsBothWaysAndCountsBytes() throws IOException {
    try (Socket socket = connect()) {
      assertThat(roundTrip(socket, "hello")).isEqualTo("hello");
      assertThat(roundTrip(socket, "again")).isEqualTo("again");
    }
    await().atMost(Duration.ofSeconds(5)).until(() -> proxy.bytesForwarded() == 20);
    assertThat(proxy.bytesDropped()).isZero();
    assertThat(proxy.connectionsAccepted()).isEqualTo(1);
    assertThat(proxy.mode()).isEqualTo(TcpProxy.Mode.PASS);
    assertThat(proxy.address()).isEqualTo(HostPort.of("127.0.0.1", proxy.port()));
    assertThat(proxy.target()).isEqualTo(echo.address());
  }

  @Test
  void halfCloseIsForwardedAndTheConnectionEndsCleanly() throws IOException {
    try (Socket socket = connect()) {
      socket.getOutputStream().write("bye".getBytes(StandardCharsets.UTF_8));
      socket.shutdownOutput();
      // The echo server sees the end of its input, answers and closes.
      assertThat(new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8))
          .isEqualTo("bye");
    }
    await().atMost(Duration.ofSeconds(5)).until(() -> proxy.openConnections() == 0);
  }

  @Test
  void delayHoldsEveryChunkBackInBothDirections() throws IOException {
    try (Socket socket = connect()) {
      roundTrip(socket, "warm-up");
      proxy.delay(Duration.ofMillis(150));
      assertThat(proxy.mode()).hasToString("DELAY(150 ms)");

      long start = System.nanoTime();
      assertThat(roundTrip(socket, "slow")).isEqualTo("slow");
      long elapsedMs = (System.nanoTime() - start) / 1_000_000;

      assertThat(elapsedMs).isGreaterThanOrEqualTo(300);

      proxy.pass();
      start = System.nanoTime();
      assertThat(roundTrip(socket, "fast")).isEqualTo("fast");
      assertThat((System.nanoTime() - start) / 1_000_000).isLessThan(300); // 300 if still delayed
    }
  }

  @Test
  void largeTransfersArriveIntactUnderDelay() throws Exception {
    proxy.delay(Duration.ofMillis(5));
    byte[] payload = new byte[1 << 20];
    new Random(42).nextBytes(payload);
    try (Socket socket = connect()) {
      Thread writer = new Thread(() -> {
        try {
          socket.getOutputStream().write(payload);
          socket.getOutputStream().flush();
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      });
      writer.start();
      byte[] received = readExactly(socket.getInputStream(), payload.length);
      writer.join(READ_TIMEOUT_MS);
      assertThat(Arrays.equals(received, payload)).isTrue();
    }
    await().atMost(Duration.ofSeconds(5))
        .until(() -> proxy.bytesForwarded() == 2L * payload.length);
  }

  @Test
  void blackholeDropsTrafficSilentlyAndResetsBrokenConnectionsWhenLifted() throws IOException {
    try (Socket used = connect(); Socket idle = connect()) {
      roundTrip(used, "before");
      roundTrip(idle, "before");
      int acceptedByTarget = echo.accepted();

      proxy.blackhole();
      used.getOutputStream().write("lost".getBytes(StandardCharsets.UTF_8));
      assertNothingArrives(used);
      await().atMost(Duration.ofSeconds(5)).until(() -> proxy.bytesDropped() == 4);

      // New connections are accepted, but never reach the target, and nothing flows.
      try (Socket during = connect()) {
        during.getOutputStream().write("void".getBytes(StandardCharsets.UTF_8));
        assertNothingArrives(during);
        assertThat(echo.accepted()).isEqualTo(acceptedByTarget);

        proxy.pass();

        // Streams that lost bytes, or never reached the target, must not resume.
        assertConnectionReset(used);
        assertConnectionReset(during);
      }
      // A connection that carried nothing during the blackhole simply continues.
      assertThat(roundTrip(idle, "after")).isEqualTo("after");
    }
    try (Socket fresh = connect()) {
      assertThat(roundTrip(fresh, "fresh")).isEqualTo("fresh");
    }
  }

  @Test
  void resetClosesConnectionsAndRefusesNewOnesUntilPass() throws IOException {
    try (Socket socket = connect()) {
      roundTrip(socket, "hi");

      proxy.reset();

      assertConnectionReset(socket);
      await().atMost(Duration.ofSeconds(5)).until(() -> proxy.openConnections() == 0);
    }
    try (Socket refused = connect()) {
      assertConnectionReset(refused);
    }
    assertThat(proxy.connectionsRefused()).isEqualTo(1);

    proxy.pass();
    try (Socket socket = connect()) {
      assertThat(roundTrip(socket, "back")).isEqualTo("back");
    }
  }

  @Test
  void targetThatIsDownLooksLikeARefusedConnection() throws Exception {
    echo.close();
    try (Socket socket = connect()) {
      assertConnectionReset(socket);
    }
    assertThat(proxy.connectionsRefused()).isEqualTo(1);
  }

  @Test
  void onlyLoopbackTargetsAreAllowed() {
    assertThatThrownBy(() -> TcpProxy.start(HostPort.of("10.1.2.3", 80)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("10.1.2.3:80 is not a loopback address");
    assertThatThrownBy(() -> TcpProxy.start(HostPort.of("8.8.8.8", 53)))
        .isInstanceOf(IllegalArgumentException.class);
    try (TcpProxy byName = TcpProxy.start(HostPort.of("localhost", echo.address().port()))) {
      assertThat(byName.target().host()).isEqualTo("localhost");
    }
  }

  @Test
  void modesAreValidated() {
    assertThatThrownBy(() -> TcpProxy.Mode.delay(Duration.ofMillis(-1)))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> TcpProxy.Mode.delay(TcpProxy.DELAY_MAX.plusMillis(1)))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(TcpProxy.Mode.delay(Duration.ZERO)).isEqualTo(TcpProxy.Mode.PASS);
    assertThatThrownBy(() -> new TcpProxy.Mode(TcpProxy.Kind.PASS, Duration.ofMillis(1)))
        .hasMessageContaining("only DELAY has a delay");
  }

  @Test
  void closeEndsConnectionsListenerAndThreads() throws Exception {
    int port = proxy.port();
    try (Socket socket = connect()) {
      roundTrip(socket, "hi");

      proxy.close();
      proxy.close();

      assertConnectionEnded(socket);
    }
    assertThatThrownBy(() -> new Socket("127.0.0.1", port)).isInstanceOf(ConnectException.class);
    assertThat(Thread.getAllStackTraces().keySet())
        .noneMatch(thread -> thread.getName().startsWith("tcp-proxy-" + port + "-"));
  }

  @Test
  void canBeStartedOnAChosenPort() {
    int port = Ports.freePort();
    try (TcpProxy chosen = TcpProxy.start(port, echo.address())) {
      assertThat(chosen.port()).isEqualTo(port);
    }
  }

  @Test
  void canListenOnAnyLoopbackAddressButNoOther() throws IOException {
    // Each link between two test processes gets an address of its own in 127.0.0.0/8.
    int port = Ports.freePort();
    try (TcpProxy link = TcpProxy.start(HostPort.of("127.0.12.3", port), echo.address());
        Socket socket = new Socket("127.0.12.3", port)) {
      socket.setSoTimeout(READ_TIMEOUT_MS);
      assertThat(link.address()).isEqualTo(HostPort.of("127.0.12.3", port));
      assertThat(roundTrip(socket, "link")).isEqualTo("link");
    }
    assertThatThrownBy(() -> TcpProxy.start(HostPort.of("10.1.2.3", port), echo.address()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not a loopback address");
  }

  private Socket connect() throws IOException {
    Socket socket = new Socket("127.0.0.1", proxy.port());
    socket.setSoTimeout(READ_TIMEOUT_MS);
    socket.setTcpNoDelay(true);
    return socket;
  }

  private static String roundTrip(Socket socket, String text) throws IOException {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    socket.getOutputStream().write(bytes);
    socket.getOutputStream().flush();
    return new String(readExactly(socket.getInputStream(), bytes.length), StandardCharsets.UTF_8);
  }

  private static byte[] readExactly(InputStream in, int length) throws IOException {
    byte[] buffer = new byte[length];
    int read = 0;
    while (read < length) {
      int n = in.read(buffer, read, length - read);
      if (n < 0) {
        throw new IOException("end of stream after " + read + " of " + length + " bytes");
      }
      read += n;
    }
    return buffer;
  }

  /** Watching for silence cannot be awaited: it is the absence of an event over time. */
  private static void assertNothingArrives(Socket socket) throws IOException {
    socket.setSoTimeout(SILENCE_MS);
    try {
      assertThatThrownBy(() -> socket.getInputStream().read())
          .isInstanceOf(SocketTimeoutException.class);
    } finally {
      socket.setSoTimeout(READ_TIMEOUT_MS);
    }
  }

  private static void assertConnectionReset(Socket socket) {
    assertThatThrownBy(() -> {
      // A reset shows as an exception on read, or on the write after a clean-looking end.
      int first = socket.getInputStream().read();
      socket.getOutputStream().write(1);
      socket.getOutputStream().flush();
      socket.getOutputStream().write(1);
      throw new AssertionError("connection still open, read " + first);
    }).isInstanceOf(java.net.SocketException.class)
        .hasMessageContaining("reset");
  }

  private static void assertConnectionEnded(Socket socket) {
    try {
      assertThat(socket.getInputStream().read()).isEqualTo(-1);
    } catch (IOException e) {
      assertThat(e).isInstanceOf(java.net.SocketException.class);
    }
  }
}
