package org.apsara.cli.identity;

import java.io.PrintWriter;
import java.util.List;
import org.apsara.tenant.api.v1.User;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code apsara user ...}: the users of a tenant. */
@Command(
    name = "user",
    mixinStandardHelpOptions = true,
    description = "Manage the users of a tenant.",
    subcommands = {
      UserCommand.Create.class,
      UserCommand.Get.class,
      UserCommand.ListUsers.class,
      UserCommand.Delete.class
    })
public final class UserCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  @Command(name = "create", mixinStandardHelpOptions = true,
      description = "Create a user, with no AccessKey and no policy yet.")
  static final class Create extends IdentityCall {
    @Parameters(index = "0", paramLabel = "NAME", description = "The user's name.")
    String name;

    @Mixin TenantOption tenant;

    @Option(names = "--display-name", paramLabel = "TEXT", description = "A name for people.")
    String displayName = "";

    @Override
    int call(IdentityConnection.Session session, PrintWriter out) {
      User user = session.client().createUser(tenant.name(), name, displayName);
      OutputOption.printFields(out, IdentityViews.user(user));
      return 0;
    }
  }

  @Command(name = "get", mixinStandardHelpOptions = true, description = "Show a user.")
  static final class Get extends IdentityCall {
    @Parameters(index = "0", paramLabel = "NAME", description = "The user's name.")
    String name;

    @Mixin TenantOption tenant;

    @Mixin OutputOption output;

    @Override
    int call(IdentityConnection.Session session, PrintWriter out) {
      output.printOne(out, IdentityViews.user(session.client().getUser(tenant.name(), name)));
      return 0;
    }
  }

  @Command(name = "list", mixinStandardHelpOptions = true,
      description = "List the users of a tenant, or the members of a group.")
  static final class ListUsers extends IdentityCall {
    @Mixin TenantOption tenant;

    @Option(names = "--group", paramLabel = "GROUP", description = "Only the members of GROUP.")
    String group = "";

    @Mixin OutputOption output;

    @Override
    int call(IdentityConnection.Session session, PrintWriter out) {
      output.printList(out, session.client().listUsers(tenant.name(), group).stream()
              .map(IdentityViews::user).toList(),
          List.of(IdentityViews.NAME, IdentityViews.TENANT, IdentityViews.CREATE_TIME,
              IdentityViews.DISPLAY_NAME));
      return 0;
    }
  }

  @Command(name = "delete", mixinStandardHelpOptions = true,
      description = "Delete a user with its AccessKeys, group memberships and policy attachments.")
  static final class Delete extends IdentityCall {
    @Parameters(index = "0", paramLabel = "NAME", description = "The user's name.")
    String name;

    @Mixin TenantOption tenant;

    @Override
    int call(IdentityConnection.Session session, PrintWriter out) {
      session.client().deleteUser(tenant.name(), name);
      out.println("deleted user " + name);
      return 0;
    }
  }
}
