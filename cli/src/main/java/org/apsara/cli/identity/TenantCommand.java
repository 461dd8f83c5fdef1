package org.apsara.cli.identity;

import java.io.PrintWriter;
import java.util.List;
import org.apsara.tenant.api.IdentityNames;
import org.apsara.tenant.api.v1.Tenant;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code apsara tenant ...}: the accounts that own users, groups and policies. */
@Command(
    name = "tenant",
    mixinStandardHelpOptions = true,
    description = "Manage tenants: the accounts that own users, groups and policies.",
    subcommands = {
      TenantCommand.Create.class,
      TenantCommand.Get.class,
      TenantCommand.ListTenants.class,
      TenantCommand.Delete.class
    })
public final class TenantCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  @Command(name = "create", mixinStandardHelpOptions = true,
      description = "Create a tenant with its root user (which has no AccessKey yet).")
  static final class Create extends IdentityCall {
    @Parameters(index = "0", paramLabel = "NAME", description = "The tenant's name.")
    String name;

    @Option(names = "--display-name", paramLabel = "TEXT", description = "A name for people.")
    String displayName = "";

    @Override
    int call(IdentityConnection.Session session, PrintWriter out) {
      Tenant tenant = session.client().createTenant(name, displayName);
      OutputOption.printFields(out, IdentityViews.tenant(tenant));
      err().println("Its root user may do anything in it; give it an AccessKey with: apsara key"
          + " create --tenant " + tenant.getName() + " --user " + IdentityNames.ROOT_USER
          + " --save-profile " + tenant.getName() + "-" + IdentityNames.ROOT_USER);
      return 0;
    }
  }

  @Command(name = "get", mixinStandardHelpOptions = true,
      description = "Show a tenant (default: your own).")
  static final class Get extends IdentityCall {
    @Parameters(index = "0", arity = "0..1", paramLabel = "NAME",
        description = "The tenant's name (default: your own).")
    String name = "";

    @Mixin OutputOption output;

    @Override
    int call(IdentityConnection.Session session, PrintWriter out) {
      output.printOne(out, IdentityViews.tenant(session.client().getTenant(name)));
      return 0;
    }
  }

  @Command(name = "list", mixinStandardHelpOptions = true,
      description = "List the tenants you may read.")
  static final class ListTenants extends IdentityCall {
    @Mixin OutputOption output;

    @Override
    int call(IdentityConnection.Session session, PrintWriter out) {
      output.printList(out, session.client().listTenants().stream().map(IdentityViews::tenant)
          .toList(), List.of(IdentityViews.NAME, IdentityViews.CREATE_TIME,
              IdentityViews.DISPLAY_NAME));
      return 0;
    }
  }

  @Command(name = "delete", mixinStandardHelpOptions = true,
      description = "Delete a tenant that holds nothing but its root user.")
  static final class Delete extends IdentityCall {
    @Parameters(index = "0", paramLabel = "NAME", description = "The tenant's name.")
    String name;

    @Override
    int call(IdentityConnection.Session session, PrintWriter out) {
      session.client().deleteTenant(name);
      out.println("deleted tenant " + name);
      return 0;
    }
  }
}
