/**
 * The identity service ("tenant"), modelled on Alibaba Cloud RAM: {@link
 * org.apsara.tenant.server.TenantServer} runs it; {@link
 * org.apsara.tenant.server.IdentityServiceImpl} serves {@code apsara.tenant.v1.IdentityService};
 * {@link org.apsara.tenant.server.IdentityView} keeps AccessKeys and policies in memory for
 * authentication ({@code AccessKeyResolver}) and authorization ({@code PolicySource}); {@link
 * org.apsara.tenant.server.PolicyAuthorizer} decides calls (root rules, RAM policies, the wall
 * between tenants); {@link org.apsara.tenant.server.Bootstrap} sets up a cluster's first start.
 * State lives in Nuwa, through {@link org.apsara.tenant.server.store.IdentityStore}.
 *
 * <p>Other services authorize their own calls the same way: an {@code IdentityView} over the same
 * Nuwa as their {@code AccessKeyResolver}, and a {@code PolicyAuthorizer} with their region.
 */
package org.apsara.tenant.server;
