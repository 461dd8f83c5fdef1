package org.apsara.cli.identity;

import java.io.PrintWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code apsara whoami}: who the identity service takes the caller to be. */
@Command(name = "whoami", mixinStandardHelpOptions = true,
    description = "Show who you are: tenant, user, ARN and AccessKey id.")
public final class WhoamiCommand extends IdentityCall {
  @Mixin OutputOption output;

  @Override
  int call(IdentityConnection.Session session, PrintWriter out) {
    output.printOne(out, IdentityViews.caller(session.client().getCallerIdentity()));
    return 0;
  }
}
