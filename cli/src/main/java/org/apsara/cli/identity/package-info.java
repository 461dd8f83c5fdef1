/**
 * The identity commands of {@code apsara}: {@code tenant}, {@code user}, {@code group}, {@code key},
 * {@code policy} and {@code whoami}, a command line over the identity service in the manner of the
 * Alibaba Cloud and AWS command lines.
 *
 * <p>Every command signs its calls with an AccessKey from a profile of the credentials file (see
 * {@link org.apsara.cli.identity.IdentityConnection}), prints what it did to the command's standard
 * output (aligned columns or {@code key: value} lines for people, {@code --output json} for
 * scripts), and turns a failed call into one line naming the gRPC status, which Apsara's error
 * handler prints as {@code apsara: <message>}.
 */
package org.apsara.cli.identity;
