/**
 * The identity service's state in Nuwa: the key layout ({@link
 * org.apsara.tenant.server.store.IdentityKeys}), the stored records ({@code
 * org.apsara.tenant.server.store.proto}), and {@link
 * org.apsara.tenant.server.store.IdentityStore}, whose every change is one guarded transaction.
 */
package org.apsara.tenant.server.store;
