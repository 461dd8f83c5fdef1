package org.apsara.cli.identity;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.Timestamp;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apsara.tenant.api.v1.AccessKey;
import org.apsara.tenant.api.v1.AccessKeyStatus;
import org.apsara.tenant.api.v1.GetCallerIdentityResponse;
import org.apsara.tenant.api.v1.Group;
import org.apsara.tenant.api.v1.Policy;
import org.apsara.tenant.api.v1.Tenant;
import org.apsara.tenant.api.v1.User;

/**
 * The identity service's resources as ordered maps for {@link OutputOption}: the keys are the proto
 * field names, so that text and JSON output and the API share one vocabulary. Stateless and
 * thread-safe.
 */
final class IdentityViews {
  static final String NAME = "name";
  static final String TENANT = "tenant";
  static final String DISPLAY_NAME = "display_name";
  static final String DESCRIPTION = "description";
  static final String CREATE_TIME = "create_time";
  static final String ARN = "arn";
  static final String USER_NAME = "user_name";
  static final String ACCESS_KEY_ID = "access_key_id";
  static final String ACCESS_KEY_SECRET = "access_key_secret";
  static final String STATUS = "status";
  static final String DOCUMENT = "document";

  private IdentityViews() {}

  static Map<String, Object> tenant(Tenant tenant) {
    Map<String, Object> view = new LinkedHashMap<>();
    view.put(NAME, tenant.getName());
    view.put(DISPLAY_NAME, tenant.getDisplayName());
    view.put(CREATE_TIME, time(tenant.getCreateTime()));
    return view;
  }

  static Map<String, Object> user(User user) {
    Map<String, Object> view = new LinkedHashMap<>();
    view.put(NAME, user.getName());
    view.put(TENANT, user.getTenant());
    view.put(ARN, user.getArn());
    view.put(DISPLAY_NAME, user.getDisplayName());
    view.put(CREATE_TIME, time(user.getCreateTime()));
    return view;
  }

  static Map<String, Object> group(Group group) {
    Map<String, Object> view = new LinkedHashMap<>();
    view.put(NAME, group.getName());
    view.put(TENANT, group.getTenant());
    view.put(DESCRIPTION, group.getDescription());
    view.put(CREATE_TIME, time(group.getCreateTime()));
    return view;
  }

  static Map<String, Object> accessKey(AccessKey key) {
    Map<String, Object> view = new LinkedHashMap<>();
    view.put(ACCESS_KEY_ID, key.getAccessKeyId());
    view.put(TENANT, key.getTenant());
    view.put(USER_NAME, key.getUserName());
    view.put(STATUS, status(key.getStatus()));
    view.put(CREATE_TIME, time(key.getCreateTime()));
    return view;
  }

  /** A policy without its document, as lists show it. */
  static Map<String, Object> policy(Policy policy) {
    Map<String, Object> view = new LinkedHashMap<>();
    view.put(NAME, policy.getName());
    view.put(TENANT, policy.getTenant());
    view.put(DESCRIPTION, policy.getDescription());
    view.put(CREATE_TIME, time(policy.getCreateTime()));
    return view;
  }

  /** A policy with its document as a JSON value, not as a string holding JSON. */
  static Map<String, Object> policyWithDocument(Policy policy) {
    Map<String, Object> view = policy(policy);
    view.put(DOCUMENT, document(policy));
    return view;
  }

  /** The policy's document, parsed; the service only stores documents it could parse. */
  static JsonNode document(Policy policy) {
    try {
      return OutputOption.json().readTree(policy.getDocument());
    } catch (JsonProcessingException e) {
      throw new IdentityCommandException("the service returned policy " + policy.getName()
          + " with a document that is not JSON: " + e.getOriginalMessage());
    }
  }

  static Map<String, Object> caller(GetCallerIdentityResponse caller) {
    Map<String, Object> view = new LinkedHashMap<>();
    view.put(TENANT, caller.getTenant());
    view.put(USER_NAME, caller.getUserName());
    view.put(ARN, caller.getArn());
    view.put(ACCESS_KEY_ID, caller.getAccessKeyId());
    return view;
  }

  /** RAM's words for a key's status. */
  static String status(AccessKeyStatus status) {
    return switch (status) {
      case ACCESS_KEY_STATUS_ACTIVE -> "Active";
      case ACCESS_KEY_STATUS_INACTIVE -> "Inactive";
      default -> "Unknown";
    };
  }

  /** ISO-8601 in UTC to the second, or "" if the service left the time unset. */
  static String time(Timestamp timestamp) {
    if (timestamp.getSeconds() == 0 && timestamp.getNanos() == 0) {
      return "";
    }
    return Instant.ofEpochSecond(timestamp.getSeconds()).toString();
  }
}
