/**
 * RAM-style access policies: the policy language, its parser and validator, the evaluator, and a
 * decision cache.
 *
 * <p>A policy document looks like this:
 *
 * <pre>{@code
 * {"Version": "1",
 *  "Statement": [
 *    {"Effect": "Allow",
 *     "Action": ["pangu:ReadFile", "pangu:List*"],
 *     "Resource": "acs:pangu:*:tenant1:file/data/*",
 *     "Condition": {"IpAddress": {"acs:SourceIp": ["10.0.0.0/8", "2001:db8::/32"]},
 *                   "Bool": {"acs:SecureTransport": "true"}}},
 *    {"Effect": "Deny", "Action": "pangu:Delete*", "Resource": "*"}]}
 * }</pre>
 *
 * <p>{@link org.apsara.security.policy.PolicyDocument#parse} validates a document and {@link
 * org.apsara.security.policy.PolicyDocument#toJson} writes its canonical form; {@link
 * org.apsara.security.policy.PolicyEvaluator} decides a request against the {@link
 * org.apsara.security.policy.Policy policies} of its principal (explicit deny over allow over the
 * default deny); {@link org.apsara.security.policy.DecisionCache} remembers decisions that depend
 * on no condition; {@link org.apsara.security.policy.CrossTenantPolicies} gives the form of a
 * policy that applies to another tenant's resources. Matching of actions and resources is described on {@link
 * org.apsara.security.policy.Statement}, conditions on {@link
 * org.apsara.security.policy.Condition}, condition keys on {@link
 * org.apsara.security.policy.ConditionKeys}, limits on {@link
 * org.apsara.security.policy.PolicyLimits}.
 */
package org.apsara.security.policy;
