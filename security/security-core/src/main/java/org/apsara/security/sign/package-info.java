/**
 * Request signatures in the style of Alibaba Cloud's V3 signature ({@code ACS3-HMAC-SHA256}):
 * canonicalization ({@link org.apsara.security.sign.SignatureV3}), signing
 * ({@link org.apsara.security.sign.RequestSigner}), verification with replay protection
 * ({@link org.apsara.security.sign.SignatureVerifier}, {@link org.apsara.security.sign.NonceCache}),
 * and the lookup of AccessKeys ({@link org.apsara.security.sign.AccessKeyResolver}) that the tenant
 * service implements.
 */
package org.apsara.security.sign;
