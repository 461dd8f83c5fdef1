package org.apsara.bench.nuwa;

/** What the clients of one benchmark step do. */
enum Operation {
  /** Write the run's value to a random key. */
  PUT("put"),
  /** Read a random key linearizably. */
  GET("get");

  private final String label;

  Operation(String label) {
    this.label = label;
  }

  String label() {
    return label;
  }

  void apply(KvConnection connection, int key) throws Exception {
    switch (this) {
      case PUT -> connection.put(key);
      case GET -> connection.get(key);
      default -> throw new AssertionError(this);
    }
  }
}
