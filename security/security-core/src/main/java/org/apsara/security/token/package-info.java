/**
 * Capability tokens for data paths: a master issues short-lived, HMAC-signed grants such as "read
 * chunk/123" ({@link org.apsara.security.token.CapabilityTokenIssuer}), and data servers check
 * them without asking anyone ({@link org.apsara.security.token.CapabilityTokenVerifier}).
 */
package org.apsara.security.token;
