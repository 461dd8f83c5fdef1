/**
 * Secrets at rest: the cluster {@link org.apsara.security.crypto.MasterKey}, authenticated
 * encryption of records with it ({@link org.apsara.security.crypto.SecretBox}), and generators of
 * AccessKey ids and secrets ({@link org.apsara.security.crypto.Secrets}).
 */
package org.apsara.security.crypto;
