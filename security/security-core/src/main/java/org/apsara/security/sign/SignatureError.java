package org.apsara.security.sign;

/**
 * Why a signed request was rejected. Each rejection has its own code, named as Alibaba Cloud names
 * its authentication errors, so that a client (and an operator reading the audit log) can tell
 * them apart without parsing messages.
 *
 * <p>The codes are part of the wire protocol: the server sends {@link #code()} to the client.
 */
public enum SignatureError {
  MISSING_AUTHORIZATION("MissingAuthorization", "The request has no Authorization header."),
  INVALID_AUTHORIZATION(
      "InvalidAuthorization",
      "The Authorization header is not of the form "
          + "'ACS3-HMAC-SHA256 Credential=<id>,SignedHeaders=<a;b>,Signature=<hex>' (or, to a"
          + " service other than the identity service, 'APSARA4-HMAC-SHA256"
          + " Credential=<id>/<yyyyMMdd>/<region>/<service>/apsara4_request,...')."),
  MISSING_SIGNED_HEADER(
      "MissingSignedHeader", "A header that must be signed is missing or not signed."),
  INVALID_TIMESTAMP_FORMAT(
      "InvalidTimeStamp.Format", "x-acs-date is not of the form yyyy-MM-ddTHH:mm:ssZ."),
  TIMESTAMP_EXPIRED(
      "InvalidTimeStamp.Expired",
      "x-acs-date is further from the server's clock than the allowed skew."),
  INVALID_NONCE(
      "InvalidSignatureNonce",
      "x-acs-signature-nonce must be 1 to 128 letters, digits, '_' or '-'."),
  CONTENT_SHA256_MISMATCH(
      "ContentSha256Mismatch",
      "x-acs-content-sha256 does not match the request payload or is not allowed for this call."),
  ACCESS_KEY_NOT_FOUND("InvalidAccessKeyId.NotFound", "The AccessKey id does not exist."),
  ACCESS_KEY_INACTIVE("InvalidAccessKeyId.Inactive", "The AccessKey is disabled."),
  SIGNATURE_MISMATCH(
      "SignatureDoesNotMatch", "The request signature does not match the server's calculation."),
  NONCE_USED(
      "SignatureNonceUsed", "The signature nonce was used before; a request cannot be replayed."),
  NONCE_CACHE_FULL(
      "SignatureNonceCacheFull",
      "The server remembers too many recent nonces to accept another; retry later."),
  INVALID_CREDENTIAL_SCOPE(
      "InvalidCredentialScope",
      "The credential scope of an APSARA4-HMAC-SHA256 signature is not this service's region and"
          + " name, or its date is not the UTC day of x-acs-date."),
  SIGNING_KEY_UNAVAILABLE(
      "SigningKeyUnavailable",
      "The service cannot learn the AccessKey's signing key now; retry later.");

  private final String code;
  private final String description;

  SignatureError(String code, String description) {
    this.code = code;
    this.description = description;
  }

  /** The error code sent to the client, for example {@code SignatureDoesNotMatch}. */
  public String code() {
    return code;
  }

  /** A sentence for people saying what the code means in general. */
  public String description() {
    return description;
  }
}
