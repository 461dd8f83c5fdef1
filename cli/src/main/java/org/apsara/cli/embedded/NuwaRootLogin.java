package org.apsara.cli.embedded;

import io.etcd.jetcd.api.AuthEnableRequest;
import io.etcd.jetcd.api.AuthGrpc;
import io.etcd.jetcd.api.AuthRoleAddRequest;
import io.etcd.jetcd.api.AuthUserAddRequest;
import io.etcd.jetcd.api.AuthUserGrantRoleRequest;
import io.etcd.jetcd.api.AuthenticateRequest;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;
import org.apsara.nuwa.api.NuwaErrors;
import org.apsara.security.crypto.Secrets;
import org.apsara.security.tls.TlsContexts;
import org.apsara.security.tls.TlsMaterial;

/**
 * Turns on etcd authentication on the embedded Nuwa the first time, with a {@code root} user whose
 * random password is kept in a file of mode 0600 in the data directory; later starts only read
 * that file. The identity service and the printed {@code etcdctl --user} line use it.
 */
final class NuwaRootLogin {
  /** The Nuwa user with etcd's root role. */
  static final String ROOT = "root";
  /** How long one call to the freshly started Nuwa may take. */
  private static final long CALL_TIMEOUT_SECONDS = 30;

  private NuwaRootLogin() {}

  /**
   * Returns the root password, enabling authentication first if this data directory has never
   * had it.
   *
   * @param passwordFile where the password is kept
   * @throws IllegalStateException if Nuwa has a root user but the password file is gone
   */
  static String ensureEnabled(String endpoint, Path passwordFile) throws IOException {
    return ensureEnabled(endpoint, passwordFile, null);
  }

  /** {@link #ensureEnabled(String, Path)} over TLS with {@code tls}'s files (plaintext if null). */
  static String ensureEnabled(String endpoint, Path passwordFile, TlsMaterial tls)
      throws IOException {
    if (Files.exists(passwordFile)) {
      return Files.readString(passwordFile).strip();
    }
    // The password reaches the disk before Nuwa knows it, in a ".partial" file that becomes the
    // password file once authentication is on. A start that finds a partial file was interrupted
    // while setting up and finishes the job with that password.
    Path partial = passwordFile.resolveSibling(passwordFile.getFileName() + ".partial");
    boolean resumed = Files.exists(partial);
    String password;
    if (resumed) {
      password = Files.readString(partial).strip();
    } else {
      password = Secrets.newAccessKeySecret();
      Files.createDirectories(passwordFile.getParent());
      Files.createFile(partial,
          PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      Files.writeString(partial, password + "\n");
    }
    NettyChannelBuilder builder = NettyChannelBuilder.forTarget(endpoint);
    ManagedChannel channel = (tls == null ? builder.usePlaintext()
        : builder.sslContext(TlsContexts.forClient(tls))).build();
    try {
      AuthGrpc.AuthBlockingStub auth = AuthGrpc.newBlockingStub(channel);
      if (resumed && authenticates(auth, password)) {
        // The interrupted start got as far as enabling authentication.
      } else {
        enable(auth, password, resumed, passwordFile);
      }
    } finally {
      channel.shutdownNow();
    }
    Files.move(partial, passwordFile, StandardCopyOption.ATOMIC_MOVE);
    return password;
  }

  private static void enable(
      AuthGrpc.AuthBlockingStub auth, String password, boolean resumed, Path passwordFile) {
    try {
      ignoring(NuwaErrors.ROLE_ALREADY_EXIST, () -> deadline(auth)
          .roleAdd(AuthRoleAddRequest.newBuilder().setName(ROOT).build()));
      try {
        deadline(auth).userAdd(
            AuthUserAddRequest.newBuilder().setName(ROOT).setPassword(password).build());
      } catch (StatusRuntimeException e) {
        // Resuming, the root user may be ours from the interrupted start; otherwise it is not.
        if (!resumed || !is(e, NuwaErrors.USER_ALREADY_EXIST)) {
          throw e;
        }
      }
      deadline(auth).userGrantRole(
          AuthUserGrantRoleRequest.newBuilder().setUser(ROOT).setRole(ROOT).build());
      deadline(auth).authEnable(AuthEnableRequest.getDefaultInstance());
    } catch (StatusRuntimeException e) {
      // Authentication already on (every call asks for a user) or a root user already there:
      // somebody set Nuwa up with a password this directory no longer has.
      if (is(e, NuwaErrors.USER_EMPTY) || is(e, NuwaErrors.USER_ALREADY_EXIST)) {
        throw new IllegalStateException("Nuwa already has a root user, but its password file "
            + passwordFile + " is missing; restore the file, or start with a fresh --data", e);
      }
      throw e;
    }
  }

  private static boolean authenticates(AuthGrpc.AuthBlockingStub auth, String password) {
    try {
      deadline(auth).authenticate(AuthenticateRequest.newBuilder()
          .setName(ROOT).setPassword(password).build());
      return true;
    } catch (StatusRuntimeException e) {
      return false;
    }
  }

  private static boolean is(StatusRuntimeException e, Status status) {
    return status.getDescription().equals(e.getStatus().getDescription());
  }

  private static AuthGrpc.AuthBlockingStub deadline(AuthGrpc.AuthBlockingStub auth) {
    return auth.withDeadlineAfter(CALL_TIMEOUT_SECONDS, TimeUnit.SECONDS);
  }

  private static void ignoring(Status expected, Runnable call) {
    try {
      call.run();
    } catch (StatusRuntimeException e) {
      if (!is(e, expected)) {
        throw e;
      }
    }
  }
}
