package org.apsara.cli.identity;

import java.io.PrintWriter;
import java.util.List;
import org.apsara.tenant.api.v1.Group;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code apsara group ...}: groups of users, which policies can be attached to. */
@Command(
    name = "group",
    mixinStandardHelpOptions = true,
    description = "Manage groups of users, to attach policies to many users at once.",
    subcommands = {
      GroupCommand.Create.class,
      GroupCommand.Delete.class,
      GroupCommand.ListGroups.class,
      GroupCommand.AddUser.class,
      GroupCommand.RemoveUser.class
    })
public final class GroupCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  @Command(name = "create", mixinStandardHelpOptions = true, description = "Create a group.")
  static final class Create extends IdentityCall {
    @Parameters(index = "0", paramLabel = "NAME", description = "The group's name.")
    String name;

    @Mixin TenantOption tenant;

    @Option(names = "--description", paramLabel = "TEXT", description = "What the group is for.")
    String description = "";

    @Override
    int call(IdentityConnection.Session session, PrintWriter out) {
      Group group = session.client().createGroup(tenant.name(), name, description);
      OutputOption.printFields(out, IdentityViews.group(group));
      return 0;
    }
  }

  @Command(name = "delete", mixinStandardHelpOptions = true,
      description = "Delete a group that has no members, with its policy attachments.")
  static final class Delete extends IdentityCall {
    @Parameters(index = "0", paramLabel = "NAME", description = "The group's name.")
    String name;

    @Mixin TenantOption tenant;

    @Override
    int call(IdentityConnection.Session session, PrintWriter out) {
      session.client().deleteGroup(tenant.name(), name);
      out.println("deleted group " + name);
      return 0;
    }
  }

  @Command(name = "list", mixinStandardHelpOptions = true,
      description = "List the groups of a tenant, or those a user belongs to.")
  static final class ListGroups extends IdentityCall {
    @Mixin TenantOption tenant;

    @Option(names = "--user", paramLabel = "USER", description = "Only the groups USER is in.")
    String user = "";

    @Mixin OutputOption output;

    @Override
    int call(IdentityConnection.Session session, PrintWriter out) {
      output.printList(out, session.client().listGroups(tenant.name(), user).stream()
              .map(IdentityViews::group).toList(),
          List.of(IdentityViews.NAME, IdentityViews.TENANT, IdentityViews.CREATE_TIME,
              IdentityViews.DESCRIPTION));
      return 0;
    }
  }

  @Command(name = "add-user", mixinStandardHelpOptions = true,
      description = "Add a user to a group.")
  static final class AddUser extends IdentityCall {
    @Parameters(index = "0", paramLabel = "GROUP", description = "The group.")
    String group;

    @Parameters(index = "1", paramLabel = "USER", description = "The user to add.")
    String user;

    @Mixin TenantOption tenant;

    @Override
    int call(IdentityConnection.Session session, PrintWriter out) {
      session.client().addUserToGroup(tenant.name(), user, group);
      out.println("added user " + user + " to group " + group);
      return 0;
    }
  }

  @Command(name = "remove-user", mixinStandardHelpOptions = true,
      description = "Remove a user from a group.")
  static final class RemoveUser extends IdentityCall {
    @Parameters(index = "0", paramLabel = "GROUP", description = "The group.")
    String group;

    @Parameters(index = "1", paramLabel = "USER", description = "The user to remove.")
    String user;

    @Mixin TenantOption tenant;

    @Override
    int call(IdentityConnection.Session session, PrintWriter out) {
      session.client().removeUserFromGroup(tenant.name(), user, group);
      out.println("removed user " + user + " from group " + group);
      return 0;
    }
  }
}
