package org.apsara.pangu.master.chunks;

/**
 * Fewer live chunkservers with room than a placement needs. The message gives the numbers: how
 * many were wanted, how many are known, alive, excluded and full. Immutable.
 */
public final class NotEnoughChunkServersException extends Exception {
  private static final long serialVersionUID = 1L;

  /** The code this refusal carries in the "x-pangu-error-code" trailer. */
  public static final String CODE = "NOT_ENOUGH_CHUNKSERVERS";

  private final int wanted;
  private final int eligible;

  NotEnoughChunkServersException(int wanted, int eligible, String message) {
    super(CODE + ": " + message, null, false, false);
    this.wanted = wanted;
    this.eligible = eligible;
  }

  /** Chunkservers the placement needed. */
  public int wanted() {
    return wanted;
  }

  /** Chunkservers that could take a replica. */
  public int eligible() {
    return eligible;
  }
}
