package org.apsara.security.grpc;

import io.grpc.MethodDescriptor;
import io.grpc.ServerServiceDefinition;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apsara.security.sign.Principal;

/**
 * A tiny service defined without protoc, one method of each call type, whose replies name the
 * caller from {@link SecurityContext}. It records every request message its handlers see.
 */
final class EchoService {
  static final String SERVICE = "apsara.test.Echo";

  static final MethodDescriptor.Marshaller<String> UTF8 = new MethodDescriptor.Marshaller<>() {
    @Override
    public InputStream stream(String value) {
      return new ByteArrayInputStream(value.getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public String parse(InputStream stream) {
      try {
        return new String(stream.readAllBytes(), StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  };

  /** Replies "<caller>: <request>". */
  static final MethodDescriptor<String, String> UNARY = method("Unary", MethodDescriptor.MethodType.UNARY);
  /** A request "<n>:<text>" gets n replies "<text>#<i>". */
  static final MethodDescriptor<String, String> REPEAT =
      method("Repeat", MethodDescriptor.MethodType.SERVER_STREAMING);
  /** Replies "<caller>: <requests joined with ','>". */
  static final MethodDescriptor<String, String> CONCAT =
      method("Concat", MethodDescriptor.MethodType.CLIENT_STREAMING);
  /** Replies "<caller>: <request>" to each request. */
  static final MethodDescriptor<String, String> CHAT =
      method("Chat", MethodDescriptor.MethodType.BIDI_STREAMING);
  /** Like {@link #UNARY}, but exempt from authentication in the tests. */
  static final MethodDescriptor<String, String> PING = method("Ping", MethodDescriptor.MethodType.UNARY);

  final List<String> seenRequests = new CopyOnWriteArrayList<>();

  ServerServiceDefinition definition() {
    return ServerServiceDefinition.builder(SERVICE)
        .addMethod(UNARY, ServerCalls.asyncUnaryCall((request, out) -> {
          seenRequests.add(request);
          reply(out, caller() + ": " + request);
        }))
        .addMethod(PING, ServerCalls.asyncUnaryCall((request, out) -> {
          seenRequests.add(request);
          reply(out, caller() + ": " + request);
        }))
        .addMethod(REPEAT, ServerCalls.asyncServerStreamingCall((request, out) -> {
          seenRequests.add(request);
          String[] parts = request.split(":", 2);
          for (int i = 0; i < Integer.parseInt(parts[0]); i++) {
            out.onNext(parts[1] + "#" + i);
          }
          out.onCompleted();
        }))
        .addMethod(CONCAT, ServerCalls.asyncClientStreamingCall(out -> new StreamObserver<String>() {
          private final StringBuilder joined = new StringBuilder();

          @Override
          public void onNext(String request) {
            seenRequests.add(request);
            joined.append(joined.length() == 0 ? "" : ",").append(request);
          }

          @Override
          public void onError(Throwable t) {}

          @Override
          public void onCompleted() {
            reply(out, caller() + ": " + joined);
          }
        }))
        .addMethod(CHAT, ServerCalls.asyncBidiStreamingCall(out -> new StreamObserver<String>() {
          @Override
          public void onNext(String request) {
            seenRequests.add(request);
            out.onNext(caller() + ": " + request);
          }

          @Override
          public void onError(Throwable t) {}

          @Override
          public void onCompleted() {
            out.onCompleted();
          }
        }))
        .build();
  }

  static String caller() {
    return SecurityContext.currentPrincipal().map(Principal::arn).orElse("anonymous");
  }

  private static void reply(StreamObserver<String> out, String reply) {
    out.onNext(reply);
    out.onCompleted();
  }

  private static MethodDescriptor<String, String> method(
      String name, MethodDescriptor.MethodType type) {
    return MethodDescriptor.<String, String>newBuilder()
        .setType(type)
        .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, name))
        .setRequestMarshaller(UTF8)
        .setResponseMarshaller(UTF8)
        .build();
  }
}
