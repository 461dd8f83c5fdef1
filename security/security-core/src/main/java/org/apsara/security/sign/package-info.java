/**
 * Request signatures: Alibaba Cloud's V3 signature ({@code ACS3-HMAC-SHA256}, keyed with the
 * AccessKey secret; canonicalization in {@link org.apsara.security.sign.SignatureV3}) for the
 * identity service, and the scoped signature ({@code APSARA4-HMAC-SHA256}, keyed with a key derived
 * for one day, region and service; {@link org.apsara.security.sign.ScopedSignature}, {@link
 * org.apsara.security.sign.CredentialScope}) for every other service. Signing ({@link
 * org.apsara.security.sign.RequestSigner}), verification with replay protection ({@link
 * org.apsara.security.sign.SignatureVerifier}, {@link org.apsara.security.sign.NonceCache}), and the
 * lookups of AccessKeys ({@link org.apsara.security.sign.AccessKeyResolver}) and of derived keys
 * ({@link org.apsara.security.sign.SigningKeyResolver}) that the tenant service and its clients
 * implement.
 */
package org.apsara.security.sign;
