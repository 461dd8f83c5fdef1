/**
 * The identity service ("tenant"), modelled on Alibaba Cloud RAM: {@link
 * org.apsara.tenant.server.TenantServer} runs it; {@link
 * org.apsara.tenant.server.IdentityServiceImpl} serves {@code apsara.tenant.v1.IdentityService};
 * {@link org.apsara.tenant.server.IdentityView} keeps AccessKeys and policies in memory for
 * authentication ({@code AccessKeyResolver}) and authorization (the policies a {@code
 * TenantAuthorizer} of tenant-api decides calls with: root rules, RAM policies, the wall between
 * tenants); {@link org.apsara.tenant.server.Bootstrap} sets up a cluster's first start. State lives
 * in Nuwa, through {@link org.apsara.tenant.server.store.IdentityStore}.
 *
 * <p>Other services do not read identities from Nuwa and never hold AccessKey secrets: they
 * authenticate and authorize with tenant-api's {@code ServiceAuthenticator}, which caches what
 * {@code GetServiceCredential} gives out (keys derived for the service, and policies).
 */
package org.apsara.tenant.server;
