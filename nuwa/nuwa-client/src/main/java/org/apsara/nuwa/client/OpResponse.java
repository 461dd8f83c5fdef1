package org.apsara.nuwa.client;

/**
 * The result of one operation, alone or inside a transaction: a {@link GetResponse}, {@link
 * PutResponse}, {@link DeleteResponse} or nested {@link TxnResponse}.
 */
public sealed interface OpResponse permits GetResponse, PutResponse, DeleteResponse, TxnResponse {
  ResponseHeader header();
}
