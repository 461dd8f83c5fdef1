package org.apsara.security.policy;

import static org.apsara.security.policy.PolicyLimits.MAX_CONDITIONS_PER_STATEMENT;
import static org.apsara.security.policy.PolicyLimits.MAX_DOCUMENT_CHARS;
import static org.apsara.security.policy.PolicyLimits.MAX_ENTRIES_PER_LIST;
import static org.apsara.security.policy.PolicyLimits.MAX_STATEMENTS_PER_DOCUMENT;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;
import org.apsara.common.json.JsonStrings;

/**
 * Reads and writes the JSON form of policy documents. Reading validates everything and reports
 * the first problem with its path in the document ({@code Statement[2].Action[0]}); writing
 * produces the canonical form described in {@link PolicyDocument#toJson()}. Stateless and
 * thread-safe.
 */
final class PolicyJson {
  private static final JsonMapper MAPPER =
      JsonMapper.builder()
          // A repeated key would otherwise silently replace the first, hiding half of what the
          // author wrote.
          .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
          .build();

  /** {@code *}, or a service and an action name, either of which may contain wildcards. */
  private static final Pattern ACTION = Pattern.compile("\\*|[A-Za-z0-9*?-]+:[A-Za-z0-9*?_-]+");
  private static final Pattern RESOURCE_SERVICE = Pattern.compile("[a-z0-9*?-]+");
  private static final Pattern RESOURCE_REGION = Pattern.compile("[a-z0-9*?-]*");
  private static final Pattern RESOURCE_ACCOUNT = Pattern.compile("[A-Za-z0-9*?._-]*");
  private static final String RESOURCE_FORM = "acs:<service>:<region>:<account>:<relative-id>";

  /** Longest string quoted back in an error message; the rest is elided. */
  private static final int MAX_QUOTED_CHARS = 64;

  private PolicyJson() {}

  static PolicyDocument parse(String json) throws InvalidPolicyException {
    Objects.requireNonNull(json, "json");
    if (json.length() > MAX_DOCUMENT_CHARS) {
      throw invalid("Policy document has " + json.length() + " characters; at most "
          + MAX_DOCUMENT_CHARS + " are allowed");
    }
    JsonNode root;
    try (JsonParser parser = MAPPER.createParser(json)) {
      root = MAPPER.readTree(parser);
      if (root != null && parser.nextToken() != null) {
        throw invalid("Policy document is not valid JSON: unexpected content after the document"
            + at(parser.currentTokenLocation()));
      }
    } catch (JsonProcessingException e) {
      // Jackson points at the start of an unclosed object or array in a clause naming the input
      // source, which is noise here: the location of the problem follows anyway.
      String reason = e.getOriginalMessage().replaceAll(" \\(start marker at \\[[^\\]]*\\]\\)", "");
      throw invalid("Policy document is not valid JSON: " + reason + at(e.getLocation()));
    } catch (IOException e) {
      throw new UncheckedIOException("reading from a string cannot fail", e);
    }
    if (root == null || root.isMissingNode()) {
      throw invalid("Policy document is empty");
    }
    if (!root.isObject()) {
      throw invalid("Policy document must be a JSON object, got " + describe(root));
    }
    JsonNode version = null;
    JsonNode statements = null;
    for (Map.Entry<String, JsonNode> field : root.properties()) {
      switch (field.getKey()) {
        case "Version" -> version = field.getValue();
        case "Statement" -> statements = field.getValue();
        default -> throw invalid("Policy document has unknown key " + quote(field.getKey())
            + "; allowed keys are Version and Statement");
      }
    }
    if (version == null) {
      throw invalid("Policy document is missing Version");
    }
    if (!version.isTextual() || !version.textValue().equals(PolicyDocument.VERSION)) {
      throw invalid("Version must be \"" + PolicyDocument.VERSION + "\", got " + describe(version));
    }
    if (statements == null) {
      throw invalid("Policy document is missing Statement");
    }
    if (!statements.isArray()) {
      throw invalid("Statement must be an array of statements, got " + describe(statements));
    }
    if (statements.isEmpty()) {
      throw invalid("Statement must not be empty");
    }
    if (statements.size() > MAX_STATEMENTS_PER_DOCUMENT) {
      throw invalid("Statement has " + statements.size() + " entries; at most "
          + MAX_STATEMENTS_PER_DOCUMENT + " are allowed");
    }
    List<Statement> parsed = new ArrayList<>(statements.size());
    for (int i = 0; i < statements.size(); i++) {
      parsed.add(parseStatement(statements.get(i), "Statement[" + i + "]"));
    }
    return new PolicyDocument(parsed);
  }

  private static Statement parseStatement(JsonNode node, String path)
      throws InvalidPolicyException {
    if (!node.isObject()) {
      throw invalid(path + " must be an object, got " + describe(node));
    }
    JsonNode effectNode = null;
    JsonNode actionNode = null;
    JsonNode resourceNode = null;
    JsonNode conditionNode = null;
    for (Map.Entry<String, JsonNode> field : node.properties()) {
      String key = field.getKey();
      switch (key) {
        case "Effect" -> effectNode = field.getValue();
        case "Action" -> actionNode = field.getValue();
        case "Resource" -> resourceNode = field.getValue();
        case "Condition" -> conditionNode = field.getValue();
        case "NotAction", "NotResource" -> throw invalid(path + "." + key
            + " is not supported; list what the statement applies to in " + key.substring(3));
        default -> throw invalid(path + " has unknown key " + quote(key)
            + "; allowed keys are Effect, Action, Resource and Condition");
      }
    }

    String effectPath = path + ".Effect";
    JsonNode effectValue = require(effectNode, path, "Effect");
    Effect effect = effectValue.isTextual() ? Effect.fromJsonName(effectValue.textValue()) : null;
    if (effect == null) {
      throw invalid(effectPath + " must be \"Allow\" or \"Deny\", got " + describe(effectNode));
    }

    String actionPath = path + ".Action";
    List<String> actions = parseStringList(require(actionNode, path, "Action"), actionPath);
    for (int i = 0; i < actions.size(); i++) {
      String action = actions.get(i);
      if (!ACTION.matcher(action).matches()) {
        throw invalid(elementPath(actionNode, actionPath, i) + " " + quote(action)
            + " is not a valid action; expected <service>:<action> such as pangu:ReadFile, or *");
      }
    }

    String resourcePath = path + ".Resource";
    List<String> resources = parseStringList(require(resourceNode, path, "Resource"), resourcePath);
    for (int i = 0; i < resources.size(); i++) {
      String resource = resources.get(i);
      String problem = resourceProblem(resource);
      if (problem != null) {
        throw invalid(elementPath(resourceNode, resourcePath, i) + " " + quote(resource)
            + " is not a valid resource name: " + problem);
      }
    }

    List<Condition> conditions =
        conditionNode == null ? List.of() : parseConditions(conditionNode, path + ".Condition");
    return new Statement(effect, actions, resources, conditions);
  }

  private static List<Condition> parseConditions(JsonNode node, String path)
      throws InvalidPolicyException {
    if (!node.isObject()) {
      throw invalid(path + " must be an object mapping operators to condition keys, got "
          + describe(node));
    }
    if (node.isEmpty()) {
      throw invalid(path + " must not be empty; leave Condition out if there is no condition");
    }
    List<Condition> conditions = new ArrayList<>();
    for (Map.Entry<String, JsonNode> byOperator : node.properties()) {
      ConditionOperator operator = ConditionOperator.fromJsonName(byOperator.getKey());
      if (operator == null) {
        throw invalid(path + " has unsupported operator " + quote(byOperator.getKey())
            + "; supported operators are " + ConditionOperator.allJsonNames());
      }
      String operatorPath = path + "." + operator.jsonName();
      JsonNode keys = byOperator.getValue();
      if (!keys.isObject()) {
        throw invalid(operatorPath + " must be an object mapping condition keys to values, got "
            + describe(keys));
      }
      if (keys.isEmpty()) {
        throw invalid(operatorPath + " must not be empty");
      }
      for (Map.Entry<String, JsonNode> byKey : keys.properties()) {
        String key = byKey.getKey();
        String keyProblem = ConditionKeys.problemWith(key, operator);
        if (keyProblem != null) {
          throw invalid(operatorPath + " key " + quote(key) + " " + keyProblem);
        }
        String keyPath = operatorPath + "." + key;
        List<String> values = parseStringList(byKey.getValue(), keyPath);
        for (int i = 0; i < values.size(); i++) {
          try {
            Condition.checkValue(operator, values.get(i));
          } catch (IllegalArgumentException e) {
            throw invalid(elementPath(byKey.getValue(), keyPath, i) + " " + quote(values.get(i))
                + " is not valid for " + operator.jsonName() + ": " + e.getMessage());
          }
        }
        if (conditions.size() == MAX_CONDITIONS_PER_STATEMENT) {
          throw invalid(path + " has more than " + MAX_CONDITIONS_PER_STATEMENT
              + " condition keys; at most " + MAX_CONDITIONS_PER_STATEMENT + " are allowed");
        }
        conditions.add(new Condition(operator, key, values));
      }
    }
    return conditions;
  }

  /** A string, or a non-empty array of strings (no longer than the named limit). */
  private static List<String> parseStringList(JsonNode node, String path)
      throws InvalidPolicyException {
    if (node.isTextual()) {
      return List.of(node.textValue());
    }
    if (!node.isArray()) {
      throw invalid(path + " must be a string or an array of strings, got " + describe(node));
    }
    if (node.isEmpty()) {
      throw invalid(path + " must not be empty");
    }
    if (node.size() > MAX_ENTRIES_PER_LIST) {
      throw invalid(path + " has " + node.size() + " entries; at most " + MAX_ENTRIES_PER_LIST
          + " are allowed");
    }
    List<String> values = new ArrayList<>(node.size());
    for (int i = 0; i < node.size(); i++) {
      JsonNode element = node.get(i);
      if (!element.isTextual()) {
        throw invalid(path + "[" + i + "] must be a string, got " + describe(element));
      }
      values.add(element.textValue());
    }
    return values;
  }

  /** Returns why {@code resource} is not a resource name pattern, or {@code null} if it is one. */
  private static String resourceProblem(String resource) {
    if (resource.equals("*")) {
      return null;
    }
    String[] parts = resource.split(":", 5);
    if (parts.length != 5 || !parts[0].equals("acs")) {
      return "expected " + RESOURCE_FORM + ", or *";
    }
    if (!RESOURCE_SERVICE.matcher(parts[1]).matches()) {
      return "the service " + quote(parts[1])
          + " must be lower-case letters, digits, '-' or wildcards, and not empty";
    }
    if (!RESOURCE_REGION.matcher(parts[2]).matches()) {
      return "the region " + quote(parts[2])
          + " must be lower-case letters, digits, '-' or wildcards";
    }
    if (!RESOURCE_ACCOUNT.matcher(parts[3]).matches()) {
      return "the account " + quote(parts[3])
          + " must be letters, digits, '.', '_', '-' or wildcards";
    }
    String relativeId = parts[4];
    if (relativeId.isEmpty()) {
      return "the relative id after the account must not be empty";
    }
    if (relativeId.chars().anyMatch(Character::isISOControl)) {
      return "the relative id must not contain control characters";
    }
    return null;
  }

  static String write(PolicyDocument document) {
    StringWriter out = new StringWriter();
    try (JsonGenerator json = MAPPER.getFactory().createGenerator(out)) {
      json.writeStartObject();
      json.writeStringField("Version", PolicyDocument.VERSION);
      json.writeArrayFieldStart("Statement");
      for (Statement statement : document.statements()) {
        json.writeStartObject();
        json.writeStringField("Effect", statement.effect().jsonName());
        writeStringList(json, "Action", statement.actions());
        writeStringList(json, "Resource", statement.resources());
        if (!statement.conditions().isEmpty()) {
          json.writeObjectFieldStart("Condition");
          // Conditions are sorted by operator, so each operator's keys are consecutive.
          ConditionOperator open = null;
          for (Condition condition : statement.conditions()) {
            if (condition.operator() != open) {
              if (open != null) {
                json.writeEndObject();
              }
              json.writeObjectFieldStart(condition.operator().jsonName());
              open = condition.operator();
            }
            writeStringList(json, condition.key(), condition.values());
          }
          json.writeEndObject();
          json.writeEndObject();
        }
        json.writeEndObject();
      }
      json.writeEndArray();
      json.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException("writing to a StringWriter cannot fail", e);
    }
    String text = out.toString();
    // The canonical form only drops whitespace and uses the shortest list form, so it fits
    // wherever the text it was parsed from fitted; parse(toJson()) relies on that.
    if (text.length() > MAX_DOCUMENT_CHARS) {
      throw new IllegalStateException("canonical policy has " + text.length() + " characters");
    }
    return text;
  }

  /** Writes one value as a plain string, several as an array: the shortest form. */
  private static void writeStringList(JsonGenerator json, String name, List<String> values)
      throws IOException {
    json.writeFieldName(name);
    if (values.size() == 1) {
      json.writeString(values.get(0));
      return;
    }
    json.writeStartArray();
    for (String value : values) {
      json.writeString(value);
    }
    json.writeEndArray();
  }

  private static String at(JsonLocation where) {
    return where == null ? "" : " at line " + where.getLineNr() + ", column " + where.getColumnNr();
  }

  private static JsonNode require(JsonNode node, String path, String key)
      throws InvalidPolicyException {
    if (node == null) {
      throw invalid(path + " is missing " + key);
    }
    return node;
  }

  /** The path of entry {@code index} of a list that may have been written as a plain string. */
  private static String elementPath(JsonNode list, String path, int index) {
    return list.isArray() ? path + "[" + index + "]" : path;
  }

  /** How a value is shown after "got" in an error message. */
  private static String describe(JsonNode node) {
    return switch (node.getNodeType()) {
      case STRING -> quote(node.textValue());
      case NUMBER -> "number " + node.asText();
      case BOOLEAN -> "boolean " + node.asText();
      case NULL -> "null";
      case ARRAY -> "an array";
      case OBJECT -> "an object";
      default -> node.getNodeType().name().toLowerCase(Locale.ROOT);
    };
  }

  private static String quote(String text) {
    if (text.length() <= MAX_QUOTED_CHARS) {
      return JsonStrings.quote(text);
    }
    return JsonStrings.quote(text.substring(0, MAX_QUOTED_CHARS))
        + "... (" + text.length() + " characters)";
  }

  private static InvalidPolicyException invalid(String message) {
    return new InvalidPolicyException(message);
  }
}
