/**
 * How every Apsara gRPC service authenticates and authorizes calls: {@link
 * org.apsara.security.grpc.SigningClientInterceptor} on clients, {@link
 * org.apsara.security.grpc.AuthenticationServerInterceptor} on servers, the caller in {@link
 * org.apsara.security.grpc.SecurityContext}, and {@link org.apsara.security.grpc.Authorization} for
 * handlers to check permissions through an {@link org.apsara.security.grpc.Authorizer}.
 */
package org.apsara.security.grpc;
