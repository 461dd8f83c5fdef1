package org.apsara.cli.identity;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.NoSuchFileException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apsara.tenant.api.CreatedAccessKey;
import org.apsara.tenant.api.CredentialsFile;
import org.apsara.tenant.api.IdentityLimits;
import org.apsara.tenant.api.v1.AccessKey;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code apsara key ...}: the AccessKeys users sign their requests with. */
@Command(
    name = "key",
    mixinStandardHelpOptions = true,
    description = "Manage AccessKeys, which users sign their requests with.",
    subcommands = {
      KeyCommand.Create.class,
      KeyCommand.ListKeys.class,
      KeyCommand.Enable.class,
      KeyCommand.Disable.class,
      KeyCommand.Delete.class
    })
public final class KeyCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  /** Whose keys a command acts on. A picocli mixin. */
  static final class OwnerOptions {
    @Option(names = "--user", paramLabel = "USER",
        description = "The key's owner (default: you).")
    String user = "";

    @Mixin TenantOption tenant;
  }

  @Command(name = "create", mixinStandardHelpOptions = true,
      description = "Create an AccessKey and print its id and secret, once (at most "
          + IdentityLimits.ACCESS_KEYS_PER_USER_MAX + " per user: enough to rotate them).")
  static final class Create extends IdentityCall {
    @Mixin OwnerOptions owner;

    @Option(names = "--save-profile", paramLabel = "NAME",
        description = "Also save the key as profile NAME of the credentials file (mode 0600), "
            + "with the endpoint this command used.")
    String saveProfile;

    @Option(names = "--overwrite",
        description = "With --save-profile: replace a profile of that name.")
    boolean overwrite;

    @Mixin OutputOption output;

    @Override
    int call(IdentityConnection.Session session, PrintWriter out) throws IOException {
      if (saveProfile != null) {
        checkProfileCanBeSaved(session);
      }
      CreatedAccessKey created =
          session.client().createAccessKey(owner.tenant.name(), owner.user);
      Map<String, Object> view = IdentityViews.accessKey(created.accessKey());
      // The secret second, right under the id it belongs to.
      Map<String, Object> withSecret = new LinkedHashMap<>();
      withSecret.put(IdentityViews.ACCESS_KEY_ID, view.remove(IdentityViews.ACCESS_KEY_ID));
      withSecret.put(IdentityViews.ACCESS_KEY_SECRET, created.credentials().accessKeySecret());
      withSecret.putAll(view);
      output.printOne(out, withSecret);
      out.flush();
      if (saveProfile == null) {
        err().println("Warning: keep the secret now; it cannot be shown again.");
        return 0;
      }
      try {
        CredentialsFile.write(session.credentialsFile(), new CredentialsFile.Profile(
            saveProfile, created.credentials(), Optional.of(session.endpoint())));
      } catch (IOException e) {
        throw new IdentityCommandException("AccessKey " + created.accessKey().getAccessKeyId()
            + " was created (its secret is printed above; it cannot be shown again), but saving"
            + " profile [" + saveProfile + "] failed: " + e.getMessage(), e);
      }
      err().println("Saved as profile [" + saveProfile + "] in " + session.credentialsFile()
          + "; use it with --profile " + saveProfile + ". The secret cannot be shown again.");
      return 0;
    }

    /**
     * Fails before the key is created, rather than after, if the profile cannot be saved: a key
     * left behind would count against the user's limit of AccessKeys.
     */
    private void checkProfileCanBeSaved(IdentityConnection.Session session) throws IOException {
      try {
        // Checks the profile's name by the credentials file's own rule.
        new CredentialsFile.Profile(saveProfile, session.profile().credentials(), Optional.empty());
      } catch (IllegalArgumentException e) {
        throw new IdentityCommandException("--save-profile: " + e.getMessage(), e);
      }
      Map<String, CredentialsFile.Profile> existing;
      try {
        existing = CredentialsFile.readAll(session.credentialsFile());
      } catch (NoSuchFileException e) {
        return;
      }
      if (existing.containsKey(saveProfile) && !overwrite) {
        throw new IdentityCommandException("profile [" + saveProfile + "] already exists in "
            + session.credentialsFile() + "; choose another name, or replace it with --overwrite");
      }
    }
  }

  @Command(name = "list", mixinStandardHelpOptions = true,
      description = "List a user's AccessKeys (never their secrets).")
  static final class ListKeys extends IdentityCall {
    @Mixin OwnerOptions owner;

    @Mixin OutputOption output;

    @Override
    int call(IdentityConnection.Session session, PrintWriter out) {
      output.printList(out, session.client().listAccessKeys(owner.tenant.name(), owner.user)
              .stream().map(IdentityViews::accessKey).toList(),
          List.of(IdentityViews.ACCESS_KEY_ID, IdentityViews.TENANT, IdentityViews.USER_NAME,
              IdentityViews.STATUS, IdentityViews.CREATE_TIME));
      return 0;
    }
  }

  /** Enabling and disabling differ only in the status they set. */
  abstract static class SetEnabled extends IdentityCall {
    @Parameters(index = "0", paramLabel = "KEY_ID", description = "The AccessKey's id.")
    String accessKeyId;

    @Mixin OwnerOptions owner;

    abstract boolean enabled();

    @Override
    int call(IdentityConnection.Session session, PrintWriter out) {
      AccessKey key = session.client().setAccessKeyEnabled(
          owner.tenant.name(), owner.user, accessKeyId, enabled());
      OutputOption.printFields(out, IdentityViews.accessKey(key));
      return 0;
    }
  }

  @Command(name = "enable", mixinStandardHelpOptions = true,
      description = "Enable an AccessKey: requests signed with it are accepted again.")
  static final class Enable extends SetEnabled {
    @Override
    boolean enabled() {
      return true;
    }
  }

  @Command(name = "disable", mixinStandardHelpOptions = true,
      description = "Disable an AccessKey: requests signed with it are rejected until enabled.")
  static final class Disable extends SetEnabled {
    @Override
    boolean enabled() {
      return false;
    }
  }

  @Command(name = "delete", mixinStandardHelpOptions = true,
      description = "Delete an AccessKey for good.")
  static final class Delete extends IdentityCall {
    @Parameters(index = "0", paramLabel = "KEY_ID", description = "The AccessKey's id.")
    String accessKeyId;

    @Mixin OwnerOptions owner;

    @Override
    int call(IdentityConnection.Session session, PrintWriter out) {
      session.client().deleteAccessKey(owner.tenant.name(), owner.user, accessKeyId);
      out.println("deleted AccessKey " + accessKeyId);
      return 0;
    }
  }
}
