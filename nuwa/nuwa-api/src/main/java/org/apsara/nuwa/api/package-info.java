/**
 * Nuwa's client contract: etcd's v3 gRPC API (generated classes in {@code io.etcd.jetcd.api}, from
 * the {@code jetcd-grpc} artifact) plus the limits and error statuses Nuwa answers with.
 */
package org.apsara.nuwa.api;
