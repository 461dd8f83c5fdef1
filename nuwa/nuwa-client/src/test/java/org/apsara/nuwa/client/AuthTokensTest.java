package org.apsara.nuwa.client;

import static org.assertj.core.api.Assertions.assertThat;

import io.etcd.jetcd.api.AuthenticateRequest;
import io.etcd.jetcd.api.AuthenticateResponse;
import io.grpc.Status;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import org.apsara.nuwa.api.NuwaErrors;
import org.junit.jupiter.api.Test;

/** How the token is obtained and replaced, with Authenticate answered by the test. */
class AuthTokensTest {
  private static final String PASSWORD = "s3cret-pw";

  /** Authenticate requests sent, each answered when the test completes its future. */
  private final List<CompletableFuture<AuthenticateResponse>> sent = new CopyOnWriteArrayList<>();

  private final List<AuthenticateRequest> requests = new CopyOnWriteArrayList<>();

  private final AuthTokens tokens =
      new AuthTokens(
          "alice",
          PASSWORD,
          request -> {
            requests.add(request);
            CompletableFuture<AuthenticateResponse> response = new CompletableFuture<>();
            sent.add(response);
            return response;
          });

  private void answer(int index, String token) {
    sent.get(index).complete(AuthenticateResponse.newBuilder().setToken(token).build());
  }

  private void refuse(int index, Status status) {
    sent.get(index).completeExceptionally(status.asRuntimeException());
  }

  @Test
  void callsNeedingATokenWhileOneIsObtainedShareThatAuthentication() throws Exception {
    CompletableFuture<String> first = tokens.current();
    CompletableFuture<String> second = tokens.current();
    CompletableFuture<String> renewal = tokens.renew(AuthTokens.NO_TOKEN);

    assertThat(sent).hasSize(1);
    assertThat(requests.get(0).getName()).isEqualTo("alice");
    assertThat(requests.get(0).getPassword()).isEqualTo(PASSWORD);
    answer(0, "t1");
    assertThat(first.get()).isEqualTo("t1");
    assertThat(second.get()).isEqualTo("t1");
    assertThat(renewal.get()).isEqualTo("t1");
    assertThat(tokens.current().get()).isEqualTo("t1");
    assertThat(sent).hasSize(1);
  }

  @Test
  void aStaleTokenIsReplacedOnceHoweverManyCallsReportIt() throws Exception {
    tokens.current();
    answer(0, "t1");

    CompletableFuture<String> a = tokens.renew("t1");
    CompletableFuture<String> b = tokens.renew("t1");
    assertThat(sent).hasSize(2);
    answer(1, "t2");
    // Reported after the renewal: the newer token is already there.
    CompletableFuture<String> late = tokens.renew("t1");

    assertThat(a.get()).isEqualTo("t2");
    assertThat(b.get()).isEqualTo("t2");
    assertThat(late.get()).isEqualTo("t2");
    assertThat(sent).hasSize(2);

    tokens.renew("t2");
    assertThat(sent).as("the current token reported stale is replaced").hasSize(3);
  }

  @Test
  void aRefusedPasswordFailsNamingTheUserAndIsTriedAgainByTheNextCall() {
    tokens.current();
    answer(0, "t1");
    CompletableFuture<String> renewal = tokens.renew("t1");
    refuse(1, Status.INVALID_ARGUMENT.withDescription(
        "etcdserver: authentication failed, invalid user ID or password"));

    assertThat(renewal)
        .failsWithin(Duration.ofSeconds(1))
        .withThrowableOfType(ExecutionException.class)
        .havingCause()
        .isInstanceOf(NuwaAuthenticationException.class)
        .withMessage(
            "cannot authenticate as user \"alice\": "
                + "etcdserver: authentication failed, invalid user ID or password")
        .matches(e -> !e.getMessage().contains(PASSWORD));

    // The invalidated token is not handed out again: the next call authenticates.
    CompletableFuture<String> next = tokens.current();
    assertThat(sent).hasSize(3);
    answer(2, "t2");
    assertThat(next).isCompletedWithValue("t2");
  }

  @Test
  void aServerWithoutAuthenticationGetsNoToken() {
    CompletableFuture<String> token = tokens.current();
    refuse(0, NuwaErrors.AUTH_NOT_ENABLED);

    assertThat(token).isCompletedWithValue(AuthTokens.NO_TOKEN);
    assertThat(tokens.current()).isCompletedWithValue(AuthTokens.NO_TOKEN);
    assertThat(sent).hasSize(1);
  }

  @Test
  void anUnreachableServerKeepsTheTokenAndFailsRetryably() {
    tokens.current();
    answer(0, "t1");
    CompletableFuture<String> renewal = tokens.renew("t1");
    refuse(1, Status.UNAVAILABLE.withDescription("connection refused"));

    assertThat(renewal)
        .failsWithin(Duration.ofSeconds(1))
        .withThrowableOfType(ExecutionException.class)
        .havingCause()
        .isInstanceOf(NuwaUnavailableException.class);
    assertThat(tokens.current()).isCompletedWithValue("t1");
  }
}
