package org.apsara.security.token;

/** Why a capability token was rejected; each check has its own reason. */
public enum TokenRejection {
  MALFORMED("The token is not a well-formed capability token."),
  UNKNOWN_KEY_ID("The token was signed with a key this verifier does not hold."),
  BAD_SIGNATURE("The token's signature does not match its contents."),
  LIFETIME_TOO_LONG("The token was issued for longer than the maximum lifetime."),
  NOT_YET_VALID("The token was issued in the future."),
  EXPIRED("The token has expired."),
  RESOURCE_MISMATCH("The token was issued for another resource."),
  OPERATION_NOT_GRANTED("The token does not grant the requested operation.");

  private final String description;

  TokenRejection(String description) {
    this.description = description;
  }

  /** A sentence for people saying what the reason means in general. */
  public String description() {
    return description;
  }
}
