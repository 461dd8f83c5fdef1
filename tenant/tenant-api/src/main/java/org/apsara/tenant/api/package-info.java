/**
 * The contract of Apsara's identity service ("tenant"), modelled on Alibaba Cloud RAM: the gRPC
 * service {@code apsara.tenant.v1.IdentityService} (generated into {@code
 * org.apsara.tenant.api.v1}), its naming rules ({@link org.apsara.tenant.api.IdentityNames}) and
 * limits ({@link org.apsara.tenant.api.IdentityLimits}), resource names ({@link
 * org.apsara.tenant.api.ResourceName}), a signing client ({@link
 * org.apsara.tenant.api.IdentityClient}) and the {@code credentials} file that holds a caller's
 * AccessKeys ({@link org.apsara.tenant.api.CredentialsFile}).
 *
 * <p>This module carries no server code, so that command lines and other services can depend on it
 * alone.
 */
package org.apsara.tenant.api;
