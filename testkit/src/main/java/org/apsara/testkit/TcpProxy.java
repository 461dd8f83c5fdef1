package org.apsara.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apsara.common.net.FreePorts;
import org.apsara.common.net.HostPort;

/**
 * A TCP proxy on 127.0.0.1 that forwards to one loopback target and injects network faults: put
 * one between each pair of cluster members and switch its {@link Mode} at any time.
 *
 * <ul>
 *   <li>{@link Mode#PASS}: bytes flow both ways.
 *   <li>{@link Mode#delay(Duration)}: every chunk of bytes is held back for the delay in each
 *       direction; throughput is unchanged, latency grows. Connection setup is not delayed.
 *   <li>{@link Mode#BLACKHOLE}: connections stay open and new ones are accepted (but not connected
 *       to the target), and every byte, in both directions, is silently dropped, as in a network
 *       partition where the sender does not learn anything. A connection that lost bytes has a
 *       corrupt stream, which a real network never delivers, so when the mode leaves BLACKHOLE such
 *       connections, and those accepted during it, are reset; the peers then reconnect, as they
 *       would after their timeouts fired during a real partition. Connections that carried nothing
 *       during the blackhole resume.
 *   <li>{@link Mode#RESET}: all current connections are reset (TCP RST) and new ones are reset as
 *       soon as they are accepted.
 * </ul>
 *
 * <p>Each connection uses four threads (a reader and a writer per direction, so that delays
 * pipeline); at most {@value #CONNECTIONS_MAX} connections are open at once, further ones are reset.
 * Data waiting in the proxy is bounded by {@value #QUEUED_CHUNKS_MAX} chunks of {@value
 * #CHUNK_BYTES} bytes per direction; a slow receiver slows the sender down as TCP would.
 *
 * <p>Only loopback targets are accepted, so a test can never send traffic off the machine. All
 * methods are thread-safe. {@link #close()} closes every socket and waits for every thread.
 */
public final class TcpProxy implements AutoCloseable {
  /** Connections open at once; more are reset on accept. */
  public static final int CONNECTIONS_MAX = 64;

  /** Bytes read at once, and so the unit of delay. */
  public static final int CHUNK_BYTES = 16 * 1024;

  /** Chunks held per direction of a connection, waiting for their delay or for the receiver. */
  public static final int QUEUED_CHUNKS_MAX = 64;

  /** Time to connect to the target; on loopback a connect either succeeds or fails at once. */
  public static final int CONNECT_TIMEOUT_MS = 2_000;

  /** The longest delay that can be set. */
  public static final Duration DELAY_MAX = Duration.ofSeconds(60);

  /** How long {@link #close()} waits for each proxy thread to finish. */
  public static final long THREAD_JOIN_TIMEOUT_MS = 5_000;

  /** What the proxy does with traffic; see {@link TcpProxy}. */
  public enum Kind { PASS, DELAY, BLACKHOLE, RESET }

  /**
   * A proxy mode: a {@link Kind} and, for {@link Kind#DELAY}, the delay.
   *
   * @param kind what to do with traffic
   * @param delay how long to hold each chunk back; zero unless {@code kind} is DELAY
   */
  public record Mode(Kind kind, Duration delay) {
    public static final Mode PASS = new Mode(Kind.PASS, Duration.ZERO);
    public static final Mode BLACKHOLE = new Mode(Kind.BLACKHOLE, Duration.ZERO);
    public static final Mode RESET = new Mode(Kind.RESET, Duration.ZERO);

    public Mode {
      Objects.requireNonNull(kind, "kind");
      Objects.requireNonNull(delay, "delay");
      if (kind == Kind.DELAY) {
        if (delay.isNegative() || delay.isZero() || delay.compareTo(DELAY_MAX) > 0) {
          throw new IllegalArgumentException(
              "delay must be more than 0 and at most " + DELAY_MAX + ", got " + delay);
        }
      } else if (!delay.isZero()) {
        throw new IllegalArgumentException("only DELAY has a delay, " + kind + " got " + delay);
      }
    }

    /** Holds every chunk back for {@code delay}; a zero delay is {@link #PASS}. */
    public static Mode delay(Duration delay) {
      return delay.isZero() ? PASS : new Mode(Kind.DELAY, delay);
    }

    @Override
    public String toString() {
      return kind == Kind.DELAY ? "DELAY(" + delay.toMillis() + " ms)" : kind.name();
    }
  }

  private final ServerSocket listener;
  private final InetSocketAddress target;
  private final HostPort targetAddress;
  private final Thread acceptor;
  private final Set<Link> links = ConcurrentHashMap.newKeySet();
  private final Set<Thread> linkThreads = ConcurrentHashMap.newKeySet();
  private final AtomicInteger linkIds = new AtomicInteger();
  private final AtomicLong bytesForwarded = new AtomicLong();
  private final AtomicLong bytesDropped = new AtomicLong();
  private final AtomicLong connectionsAccepted = new AtomicLong();
  private final AtomicLong connectionsRefused = new AtomicLong();
  private final Object modeLock = new Object();
  private final AtomicBoolean closed = new AtomicBoolean();
  private volatile Mode mode = Mode.PASS;

  private TcpProxy(ServerSocket listener, InetSocketAddress target, HostPort targetAddress) {
    this.listener = listener;
    this.target = target;
    this.targetAddress = targetAddress;
    this.acceptor = new Thread(this::acceptLoop, "tcp-proxy-" + port() + "-accept");
    this.acceptor.setDaemon(true);
  }

  /** Starts a proxy on a free port of 127.0.0.1, in {@link Mode#PASS}, forwarding to target. */
  public static TcpProxy start(HostPort target) {
    return start(0, target);
  }

  /**
   * Starts a proxy on 127.0.0.1:{@code listenPort} (0 for any free port), in {@link Mode#PASS},
   * forwarding to {@code target}.
   *
   * @throws IllegalArgumentException if the target is not a loopback address
   * @throws UncheckedIOException if the port cannot be bound
   */
  public static TcpProxy start(int listenPort, HostPort target) {
    return start(HostPort.of(FreePorts.LOOPBACK.getHostAddress(), listenPort), target);
  }

  /**
   * Starts a proxy listening on {@code listen}, a loopback address (any of 127.0.0.0/8, so that
   * a test can give every link between two processes an address of its own), in {@link
   * Mode#PASS}, forwarding to {@code target}.
   *
   * @throws IllegalArgumentException if either address is not a loopback address
   * @throws UncheckedIOException if the address cannot be bound
   */
  public static TcpProxy start(HostPort listen, HostPort target) {
    Objects.requireNonNull(listen, "listen");
    Objects.requireNonNull(target, "target");
    InetAddress listenHost;
    try {
      listenHost = InetAddress.getByName(listen.host());
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException("proxy address " + listen + " does not resolve", e);
    }
    if (!listenHost.isLoopbackAddress()) {
      throw new IllegalArgumentException(
          "proxy address " + listen + " is not a loopback address; refusing to listen off-host");
    }
    InetAddress targetHost;
    try {
      targetHost = InetAddress.getByName(target.host());
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException("proxy target " + target + " does not resolve", e);
    }
    if (!targetHost.isLoopbackAddress()) {
      throw new IllegalArgumentException(
          "proxy target " + target + " is not a loopback address; refusing to forward off-host");
    }
    ServerSocket listener = null;
    try {
      listener = new ServerSocket();
      // Lets a test restart a proxy on the same port while old connections are in TIME_WAIT.
      listener.setReuseAddress(true);
      listener.bind(new InetSocketAddress(listenHost, listen.port()));
    } catch (IOException e) {
      closeQuietly(listener);
      throw new UncheckedIOException("cannot listen on " + listen, e);
    }
    TcpProxy proxy =
        new TcpProxy(listener, new InetSocketAddress(targetHost, target.port()), target);
    proxy.acceptor.start();
    return proxy;
  }

  /** The port the proxy listens on. */
  public int port() {
    return listener.getLocalPort();
  }

  /** The address clients should connect to instead of the target. */
  public HostPort address() {
    return HostPort.of(listener.getInetAddress().getHostAddress(), port());
  }

  public HostPort target() {
    return targetAddress;
  }

  public Mode mode() {
    return mode;
  }

  /**
   * Switches the mode; takes effect for every open connection at once (bytes already read are
   * dropped if the new mode is BLACKHOLE, and keep their delay otherwise).
   */
  public void setMode(Mode newMode) {
    Objects.requireNonNull(newMode, "mode");
    synchronized (modeLock) {
      mode = newMode;
      // Connections check the mode again after acting on it, so a connection that raced with
      // this change is closed either here or by itself.
      for (Link link : links) {
        if (newMode.kind() == Kind.RESET || (newMode.kind() != Kind.BLACKHOLE && link.tainted)) {
          link.close(true);
        }
      }
    }
  }

  public void pass() {
    setMode(Mode.PASS);
  }

  public void delay(Duration delay) {
    setMode(Mode.delay(delay));
  }

  public void blackhole() {
    setMode(Mode.BLACKHOLE);
  }

  public void reset() {
    setMode(Mode.RESET);
  }

  /** Bytes delivered to either side since start. */
  public long bytesForwarded() {
    return bytesForwarded.get();
  }

  /** Bytes dropped by {@link Mode#BLACKHOLE} since start. */
  public long bytesDropped() {
    return bytesDropped.get();
  }

  /** Connections accepted and kept (not refused) since start. */
  public long connectionsAccepted() {
    return connectionsAccepted.get();
  }

  /** Connections reset on accept (RESET mode, target down, or too many connections). */
  public long connectionsRefused() {
    return connectionsRefused.get();
  }

  /** Connections open now. */
  public int openConnections() {
    return links.size();
  }

  /** Stops listening, closes every connection and waits for every proxy thread. Idempotent. */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    closeQuietly(listener);
    join(acceptor); // after this no link is created any more
    new ArrayList<>(links).forEach(link -> link.close(false));
    new ArrayList<>(linkThreads).forEach(TcpProxy::join);
  }

  @Override
  public String toString() {
    return "TcpProxy{" + address() + " -> " + targetAddress + ", " + mode + "}";
  }

  private void acceptLoop() {
    while (!closed.get()) {
      Socket client;
      try {
        client = listener.accept();
      } catch (IOException e) {
        return; // the listener was closed
      }
      Mode current = mode;
      if (current.kind() == Kind.RESET || links.size() >= CONNECTIONS_MAX) {
        refuse(client);
        continue;
      }
      Socket upstream = null;
      if (current.kind() != Kind.BLACKHOLE) {
        upstream = new Socket();
        try {
          upstream.setTcpNoDelay(true);
          upstream.connect(target, CONNECT_TIMEOUT_MS);
        } catch (IOException e) {
          closeQuietly(upstream);
          refuse(client); // as the target would have: it is not listening
          continue;
        }
      }
      try {
        client.setTcpNoDelay(true);
      } catch (SocketException e) {
        closeQuietly(upstream);
        closeQuietly(client);
        continue;
      }
      Link link;
      try {
        link = new Link(linkIds.incrementAndGet(), client, upstream);
      } catch (IOException e) {
        closeQuietly(upstream);
        closeQuietly(client);
        continue;
      }
      links.add(link);
      connectionsAccepted.incrementAndGet();
      link.start();
      if (upstream == null) {
        link.taint();
      }
      if (closed.get() || mode.kind() == Kind.RESET) {
        link.close(true); // raced with close() or setMode(RESET)
      }
    }
  }

  private void refuse(Socket client) {
    connectionsRefused.incrementAndGet();
    resetAndClose(client);
  }

  /** Closes with SO_LINGER 0, which sends a TCP RST: the peer sees "connection reset". */
  private static void resetAndClose(Socket socket) {
    if (socket == null) {
      return;
    }
    try {
      socket.setSoLinger(true, 0);
    } catch (IOException e) {
      // Already closed or broken; closing below is all that is left to do.
    }
    closeQuietly(socket);
  }

  private static void closeQuietly(AutoCloseable closeable) {
    if (closeable == null) {
      return;
    }
    try {
      closeable.close();
    } catch (Exception e) {
      // Closing during teardown; nothing useful to do with the failure.
    }
  }

  private static void join(Thread thread) {
    if (thread == Thread.currentThread()) {
      return;
    }
    try {
      thread.join(THREAD_JOIN_TIMEOUT_MS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (thread.isAlive()) {
      throw new IllegalStateException("proxy thread " + thread.getName() + " did not stop");
    }
  }

  /** A chunk of bytes in flight; {@code length < 0} marks the end of the stream. */
  private record Chunk(byte[] data, int length, long dueNanos) {
    boolean isEnd() {
      return length < 0;
    }
  }

  /** One proxied connection: the client socket and, unless accepted in BLACKHOLE, the upstream. */
  private final class Link {
    final int id;
    final Socket client;
    final Socket upstream;
    final List<Thread> threads = new ArrayList<>(4);
    final AtomicBoolean linkClosed = new AtomicBoolean();
    final AtomicInteger directionsEnded = new AtomicInteger();
    /** The stream lost bytes or never reached the target: it must not resume after BLACKHOLE. */
    volatile boolean tainted;

    /** Creates the threads, all of them before the link is shared, but does not start them. */
    Link(int id, Socket client, Socket upstream) throws IOException {
      this.id = id;
      this.client = client;
      this.upstream = upstream;
      if (upstream == null) {
        InputStream in = client.getInputStream();
        addThread("sink", () -> drain(in));
      } else {
        pipe("up", client.getInputStream(), upstream.getOutputStream(), upstream);
        pipe("down", upstream.getInputStream(), client.getOutputStream(), client);
      }
    }

    void start() {
      for (Thread thread : threads) {
        linkThreads.add(thread);
        thread.start();
      }
    }

    private void pipe(String direction, InputStream in, OutputStream out, Socket destination) {
      BlockingQueue<Chunk> queue = new ArrayBlockingQueue<>(QUEUED_CHUNKS_MAX);
      addThread(direction + "-read", () -> read(in, queue));
      addThread(direction + "-write", () -> write(queue, out, destination));
    }

    private void addThread(String role, Runnable body) {
      Thread thread = new Thread(() -> {
        try {
          body.run();
        } catch (RuntimeException e) {
          close(true);
        } finally {
          linkThreads.remove(Thread.currentThread());
        }
      }, "tcp-proxy-" + port() + "-c" + id + "-" + role);
      thread.setDaemon(true);
      threads.add(thread);
    }

    /** Reads only to drop: a connection accepted during BLACKHOLE has nowhere to send bytes. */
    private void drain(InputStream in) {
      byte[] buffer = new byte[CHUNK_BYTES];
      try {
        int n;
        while ((n = in.read(buffer)) >= 0) {
          drop(n);
        }
      } catch (IOException e) {
        close(true); // the socket broke or the link is closing
      }
    }

    private void read(InputStream in, BlockingQueue<Chunk> queue) {
      byte[] buffer = new byte[CHUNK_BYTES];
      long lastDueNanos = Long.MIN_VALUE;
      try {
        while (true) {
          int n = in.read(buffer);
          Mode current = mode;
          if (current.kind() == Kind.RESET) {
            close(true);
            return;
          }
          if (current.kind() == Kind.BLACKHOLE) {
            if (n < 0) {
              taint(); // the end of the stream is lost too; the peers never learn of it
              return;
            }
            drop(n);
            continue;
          }
          long now = System.nanoTime();
          // Never let a chunk overtake an earlier one when the delay shrinks.
          long due = Math.max(now + current.delay().toNanos(), lastDueNanos);
          lastDueNanos = due;
          if (n < 0) {
            queue.put(new Chunk(null, -1, due));
            return;
          }
          byte[] data = new byte[n];
          System.arraycopy(buffer, 0, data, 0, n);
          queue.put(new Chunk(data, n, due));
        }
      } catch (IOException | InterruptedException e) {
        close(true); // the socket broke or the link is closing
      }
    }

    private void write(BlockingQueue<Chunk> queue, OutputStream out, Socket destination) {
      try {
        while (true) {
          Chunk chunk = queue.take();
          long wait;
          while ((wait = chunk.dueNanos() - System.nanoTime()) > 0) {
            TimeUnit.NANOSECONDS.sleep(wait);
          }
          if (chunk.isEnd()) {
            if (mode.kind() == Kind.BLACKHOLE) {
              taint(); // the end of the stream is lost like any byte
              return;
            }
            destination.shutdownOutput();
            if (directionsEnded.incrementAndGet() == 2) {
              close(false);
            }
            return;
          }
          if (mode.kind() == Kind.BLACKHOLE) {
            drop(chunk.length());
            continue;
          }
          out.write(chunk.data(), 0, chunk.length());
          out.flush();
          bytesForwarded.addAndGet(chunk.length());
        }
      } catch (IOException | InterruptedException e) {
        close(true); // the socket broke or the link is closing
      }
    }

    private void drop(int bytes) {
      bytesDropped.addAndGet(bytes);
      taint();
    }

    /** Marks the stream broken; closes it if the blackhole already ended meanwhile. */
    void taint() {
      tainted = true;
      if (mode.kind() != Kind.BLACKHOLE) {
        close(true);
      }
    }

    void close(boolean reset) {
      if (!linkClosed.compareAndSet(false, true)) {
        return;
      }
      links.remove(this);
      if (reset) {
        resetAndClose(client);
        resetAndClose(upstream);
      } else {
        closeQuietly(client);
        closeQuietly(upstream);
      }
      for (Thread thread : threads) {
        if (thread != Thread.currentThread()) {
          thread.interrupt(); // wakes threads waiting on the queue or sleeping out a delay
        }
      }
    }
  }
}
