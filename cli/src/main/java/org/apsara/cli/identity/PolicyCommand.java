package org.apsara.cli.identity;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import org.apsara.security.policy.PolicyLimits;
import org.apsara.tenant.api.v1.Policy;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code apsara policy ...}: RAM policies, and who they are attached to. */
@Command(
    name = "policy",
    mixinStandardHelpOptions = true,
    description = "Manage RAM policies: what users and groups may do.",
    subcommands = {
      PolicyCommand.Create.class,
      PolicyCommand.Get.class,
      PolicyCommand.ListPolicies.class,
      PolicyCommand.Delete.class,
      PolicyCommand.Attach.class,
      PolicyCommand.Detach.class
    })
public final class PolicyCommand implements Runnable {
  /** The {@code --document} value that means standard input. */
  static final String STDIN = "-";
  /**
   * Largest document file read: every character of the largest document the service accepts, at
   * the most bytes UTF-8 may take for one. The service checks the real limit.
   */
  static final int DOCUMENT_BYTES_MAX = 4 * PolicyLimits.MAX_DOCUMENT_CHARS;

  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** A user or a group, exactly one. */
  static final class Principal {
    @Option(names = "--user", paramLabel = "USER", required = true, description = "A user.")
    String user;

    @Option(names = "--group", paramLabel = "GROUP", required = true, description = "A group.")
    String group;
  }

  @Command(name = "create", mixinStandardHelpOptions = true,
      description = "Create a policy from a RAM policy document: "
          + "{\"Version\": \"1\", \"Statement\": [...]}.")
  static final class Create extends IdentityCall {
    @Parameters(index = "0", paramLabel = "NAME", description = "The policy's name.")
    String name;

    @Option(names = "--document", paramLabel = "FILE", required = true,
        description = "The policy document, a JSON file, or - to read it from standard input.")
    String documentSource;

    @Option(names = "--description", paramLabel = "TEXT", description = "What the policy is for.")
    String description = "";

    @Mixin TenantOption tenant;

    private String document;

    @Override
    void checkArguments() throws IOException {
      document = readDocument(documentSource);
    }

    @Override
    int call(IdentityConnection.Session session, PrintWriter out) {
      Policy policy = session.client().createPolicy(tenant.name(), name, document, description);
      OutputOption.printFields(out, IdentityViews.policy(policy));
      return 0;
    }
  }

  /** The document from a file or standard input, checked to be UTF-8 of a bounded size. */
  static String readDocument(String source) throws IOException {
    byte[] bytes;
    if (STDIN.equals(source)) {
      bytes = readBounded(System.in);
    } else {
      Path file = Path.of(source);
      try (InputStream in = Files.newInputStream(file)) {
        bytes = readBounded(in);
      } catch (NoSuchFileException e) {
        throw new IdentityCommandException("--document: no file " + source);
      }
    }
    if (bytes.length > DOCUMENT_BYTES_MAX) {
      throw new IdentityCommandException("--document: " + (STDIN.equals(source) ? "standard input"
          : source) + " has more than " + DOCUMENT_BYTES_MAX + " bytes; a policy document has at"
          + " most " + PolicyLimits.MAX_DOCUMENT_CHARS + " characters");
    }
    try {
      return StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes)).toString();
    } catch (CharacterCodingException e) {
      throw new IdentityCommandException("--document: " + source + " is not UTF-8 text");
    }
  }

  /** At most one byte more than the limit, so that a larger input is seen without reading it all. */
  private static byte[] readBounded(InputStream in) throws IOException {
    return in.readNBytes(DOCUMENT_BYTES_MAX + 1);
  }

  @Command(name = "get", mixinStandardHelpOptions = true,
      description = "Print a policy's document (with -o json: the policy with its document).")
  static final class Get extends IdentityCall {
    @Parameters(index = "0", paramLabel = "NAME", description = "The policy's name.")
    String name;

    @Mixin TenantOption tenant;

    @Mixin OutputOption output;

    @Override
    int call(IdentityConnection.Session session, PrintWriter out) {
      Policy policy = session.client().getPolicy(tenant.name(), name);
      if (output.format() == OutputOption.Format.JSON) {
        OutputOption.printJson(out, IdentityViews.policyWithDocument(policy));
      } else {
        // Pretty-printed, so that it reads well and can be edited and given back to create.
        OutputOption.printJson(out, IdentityViews.document(policy));
      }
      return 0;
    }
  }

  @Command(name = "list", mixinStandardHelpOptions = true,
      description = "List the policies of a tenant, or those attached to a user or a group.")
  static final class ListPolicies extends IdentityCall {
    @ArgGroup(exclusive = true, multiplicity = "0..1")
    Principal attachedTo;

    @Mixin TenantOption tenant;

    @Mixin OutputOption output;

    @Override
    int call(IdentityConnection.Session session, PrintWriter out) {
      List<Policy> policies;
      if (attachedTo == null) {
        policies = session.client().listPolicies(tenant.name());
      } else if (attachedTo.user != null) {
        policies = session.client().listPoliciesForUser(tenant.name(), attachedTo.user);
      } else {
        policies = session.client().listPoliciesForGroup(tenant.name(), attachedTo.group);
      }
      output.printList(out, policies.stream().map(IdentityViews::policy).toList(),
          List.of(IdentityViews.NAME, IdentityViews.TENANT, IdentityViews.CREATE_TIME,
              IdentityViews.DESCRIPTION));
      return 0;
    }
  }

  @Command(name = "delete", mixinStandardHelpOptions = true,
      description = "Delete a policy that is attached to nobody.")
  static final class Delete extends IdentityCall {
    @Parameters(index = "0", paramLabel = "NAME", description = "The policy's name.")
    String name;

    @Mixin TenantOption tenant;

    @Override
    int call(IdentityConnection.Session session, PrintWriter out) {
      session.client().deletePolicy(tenant.name(), name);
      out.println("deleted policy " + name);
      return 0;
    }
  }

  @Command(name = "attach", mixinStandardHelpOptions = true,
      description = "Attach a policy to a user or a group: they may then do what it allows.")
  static final class Attach extends IdentityCall {
    @Parameters(index = "0", paramLabel = "NAME", description = "The policy's name.")
    String name;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Principal target;

    @Mixin TenantOption tenant;

    @Override
    int call(IdentityConnection.Session session, PrintWriter out) {
      if (target.user != null) {
        session.client().attachPolicyToUser(tenant.name(), name, target.user);
        out.println("attached policy " + name + " to user " + target.user);
      } else {
        session.client().attachPolicyToGroup(tenant.name(), name, target.group);
        out.println("attached policy " + name + " to group " + target.group);
      }
      return 0;
    }
  }

  @Command(name = "detach", mixinStandardHelpOptions = true,
      description = "Detach a policy from a user or a group.")
  static final class Detach extends IdentityCall {
    @Parameters(index = "0", paramLabel = "NAME", description = "The policy's name.")
    String name;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Principal target;

    @Mixin TenantOption tenant;

    @Override
    int call(IdentityConnection.Session session, PrintWriter out) {
      if (target.user != null) {
        session.client().detachPolicyFromUser(tenant.name(), name, target.user);
        out.println("detached policy " + name + " from user " + target.user);
      } else {
        session.client().detachPolicyFromGroup(tenant.name(), name, target.group);
        out.println("detached policy " + name + " from group " + target.group);
      }
      return 0;
    }
  }
}
