/**
 * What a service other than the identity service needs to authenticate and authorize its calls
 * locally: {@link org.apsara.tenant.api.service.ServiceAuthenticator}, which caches the derived
 * signing keys and policies the identity service gives out ({@code GetServiceCredential}) and
 * offers the server interceptor and the authorizer built on them.
 */
package org.apsara.tenant.api.service;
