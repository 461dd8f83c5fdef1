package org.apsara.nuwa.client;

/** A long-lived stream of the client (a watch or a keep-alive), ended when the client closes. */
interface ClientStream {
  /**
   * The client is closing: stop, and tell the listener the stream ended, since nothing will
   * resume it. Called once, before the client's timer and channel shut down.
   */
  void clientClosed();
}
