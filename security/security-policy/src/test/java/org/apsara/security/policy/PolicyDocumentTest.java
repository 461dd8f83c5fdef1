package org.apsara.security.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class PolicyDocumentTest {
  /** A valid statement to surround the one under test. */
  private static final String OK = "{'Effect':'Allow','Action':'pangu:ReadFile','Resource':'*'}";

  /** Documents are written with single quotes for readability; this makes them JSON. */
  private static String json(String singleQuoted) {
    return singleQuoted.replace('\'', '"');
  }

  private static String document(String... statements) {
    return "{'Version':'1','Statement':[" + String.join(",", statements) + "]}";
  }

  /** A statement allowing pangu:ReadFile on everything under the given condition block. */
  private static String withCondition(String condition) {
    return document(
        "{'Effect':'Allow','Action':'pangu:ReadFile','Resource':'*','Condition':" + condition + "}");
  }

  static Stream<Arguments> invalidDocuments() {
    return Stream.of(
        // The document as a whole.
        arguments("", "Policy document is empty"),
        arguments("  ", "Policy document is empty"),
        arguments("[]", "Policy document must be a JSON object, got an array"),
        arguments("'1'", "Policy document must be a JSON object, got \"1\""),
        arguments("{'Version':'1','Statement':[" + OK + "],'Id':'x'}",
            "Policy document has unknown key \"Id\"; allowed keys are Version and Statement"),
        arguments("{'version':'1','Statement':[" + OK + "]}",
            "Policy document has unknown key \"version\"; allowed keys are Version and Statement"),
        arguments("{'Statement':[" + OK + "]}", "Policy document is missing Version"),
        arguments("{'Version':'2012-10-17','Statement':[" + OK + "]}",
            "Version must be \"1\", got \"2012-10-17\""),
        arguments("{'Version':1,'Statement':[" + OK + "]}", "Version must be \"1\", got number 1"),
        arguments("{'Version':'1'}", "Policy document is missing Statement"),
        arguments("{'Version':'1','Statement':" + OK + "}",
            "Statement must be an array of statements, got an object"),
        arguments("{'Version':'1','Statement':[]}", "Statement must not be empty"),
        // Statements.
        arguments(document("'x'"), "Statement[0] must be an object, got \"x\""),
        arguments(document(OK, "null"), "Statement[1] must be an object, got null"),
        arguments(
            document(OK, "{'Sid':'1','Effect':'Allow','Action':'pangu:ReadFile','Resource':'*'}"),
            "Statement[1] has unknown key \"Sid\"; allowed keys are Effect, Action, Resource and"
                + " Condition"),
        arguments(document("{'Effect':'Allow','NotAction':'pangu:Delete','Resource':'*'}"),
            "Statement[0].NotAction is not supported; list what the statement applies to in Action"),
        arguments(document("{'Effect':'Allow','Action':'pangu:Read','NotResource':'*'}"),
            "Statement[0].NotResource is not supported; list what the statement applies to in"
                + " Resource"),
        arguments(document("{'Action':'pangu:ReadFile','Resource':'*'}"),
            "Statement[0] is missing Effect"),
        arguments(document(OK, OK, "{'Effect':'allow','Action':'pangu:ReadFile','Resource':'*'}"),
            "Statement[2].Effect must be \"Allow\" or \"Deny\", got \"allow\""),
        arguments(document("{'Effect':true,'Action':'pangu:ReadFile','Resource':'*'}"),
            "Statement[0].Effect must be \"Allow\" or \"Deny\", got boolean true"),
        // Actions.
        arguments(document("{'Effect':'Allow','Resource':'*'}"), "Statement[0] is missing Action"),
        arguments(document("{'Effect':'Allow','Action':[],'Resource':'*'}"),
            "Statement[0].Action must not be empty"),
        arguments(document("{'Effect':'Allow','Action':5,'Resource':'*'}"),
            "Statement[0].Action must be a string or an array of strings, got number 5"),
        arguments(document("{'Effect':'Allow','Action':{'a':'b'},'Resource':'*'}"),
            "Statement[0].Action must be a string or an array of strings, got an object"),
        arguments(document("{'Effect':'Allow','Action':['pangu:ReadFile',null],'Resource':'*'}"),
            "Statement[0].Action[1] must be a string, got null"),
        arguments(document("{'Effect':'Allow','Action':'pangu','Resource':'*'}"),
            "Statement[0].Action \"pangu\" is not a valid action; expected <service>:<action> such"
                + " as pangu:ReadFile, or *"),
        arguments(document("{'Effect':'Allow','Action':['pangu:*','pangu:Read File'],'Resource':'*'}"),
            "Statement[0].Action[1] \"pangu:Read File\" is not a valid action; expected"
                + " <service>:<action> such as pangu:ReadFile, or *"),
        arguments(document("{'Effect':'Allow','Action':'pangu:','Resource':'*'}"),
            "Statement[0].Action \"pangu:\" is not a valid action; expected <service>:<action> such"
                + " as pangu:ReadFile, or *"),
        arguments(document("{'Effect':'Allow','Action':'','Resource':'*'}"),
            "Statement[0].Action \"\" is not a valid action; expected <service>:<action> such as"
                + " pangu:ReadFile, or *"),
        arguments(document("{'Effect':'Allow','Action':'" + "x".repeat(100) + "','Resource':'*'}"),
            "Statement[0].Action \"" + "x".repeat(64) + "\"... (100 characters) is not a valid"
                + " action; expected <service>:<action> such as pangu:ReadFile, or *"),
        // Resources.
        arguments(document("{'Effect':'Allow','Action':'pangu:ReadFile'}"),
            "Statement[0] is missing Resource"),
        arguments(document("{'Effect':'Allow','Action':'pangu:ReadFile','Resource':[]}"),
            "Statement[0].Resource must not be empty"),
        arguments(resource("['*','acs:pangu:*:tenant1']"),
            "Statement[0].Resource[1] \"acs:pangu:*:tenant1\" is not a valid resource name:"
                + " expected acs:<service>:<region>:<account>:<relative-id>, or *"),
        arguments(resource("'arn:aws:s3:::bucket/key'"),
            "Statement[0].Resource \"arn:aws:s3:::bucket/key\" is not a valid resource name:"
                + " expected acs:<service>:<region>:<account>:<relative-id>, or *"),
        arguments(resource("'acs::*:tenant1:file/x'"),
            "Statement[0].Resource \"acs::*:tenant1:file/x\" is not a valid resource name: the"
                + " service \"\" must be lower-case letters, digits, '-' or wildcards, and not"
                + " empty"),
        arguments(resource("'acs:Pangu:*:tenant1:file/x'"),
            "Statement[0].Resource \"acs:Pangu:*:tenant1:file/x\" is not a valid resource name:"
                + " the service \"Pangu\" must be lower-case letters, digits, '-' or wildcards, and"
                + " not empty"),
        arguments(resource("'acs:pangu:cn_north:tenant1:file/x'"),
            "Statement[0].Resource \"acs:pangu:cn_north:tenant1:file/x\" is not a valid resource"
                + " name: the region \"cn_north\" must be lower-case letters, digits, '-' or"
                + " wildcards"),
        arguments(resource("'acs:pangu:*:ten ant:file/x'"),
            "Statement[0].Resource \"acs:pangu:*:ten ant:file/x\" is not a valid resource name:"
                + " the account \"ten ant\" must be letters, digits, '.', '_', '-' or wildcards"),
        arguments(resource("'acs:pangu:*:tenant1:'"),
            "Statement[0].Resource \"acs:pangu:*:tenant1:\" is not a valid resource name: the"
                + " relative id after the account must not be empty"),
        arguments(resource("'acs:pangu:*:tenant1:file/a\\u0007'"),
            "Statement[0].Resource \"acs:pangu:*:tenant1:file/a\\u0007\" is not a valid resource"
                + " name: the relative id must not contain control characters"),
        // Conditions.
        arguments(withCondition("[]"),
            "Statement[0].Condition must be an object mapping operators to condition keys, got an"
                + " array"),
        arguments(withCondition("{}"),
            "Statement[0].Condition must not be empty; leave Condition out if there is no"
                + " condition"),
        arguments(withCondition("{'NumericEquals':{'pangu:Size':'1'}}"),
            "Statement[0].Condition has unsupported operator \"NumericEquals\"; supported"
                + " operators are StringEquals, StringNotEquals, StringEqualsIgnoreCase,"
                + " StringLike, StringNotLike, IpAddress, NotIpAddress, DateLessThan,"
                + " DateGreaterThan, Bool"),
        arguments(withCondition("{'stringEquals':{'pangu:Prefix':'a'}}"),
            "Statement[0].Condition has unsupported operator \"stringEquals\"; supported"
                + " operators are StringEquals, StringNotEquals, StringEqualsIgnoreCase,"
                + " StringLike, StringNotLike, IpAddress, NotIpAddress, DateLessThan,"
                + " DateGreaterThan, Bool"),
        arguments(withCondition("{'StringEquals':'pangu:Prefix'}"),
            "Statement[0].Condition.StringEquals must be an object mapping condition keys to"
                + " values, got \"pangu:Prefix\""),
        arguments(withCondition("{'StringEquals':{}}"),
            "Statement[0].Condition.StringEquals must not be empty"),
        arguments(withCondition("{'StringEquals':{'acs:UserAgent':'curl'}}"),
            "Statement[0].Condition.StringEquals key \"acs:UserAgent\" is not a supported global"
                + " key; supported global keys are acs:SourceIp, acs:CurrentTime,"
                + " acs:SecureTransport"),
        arguments(withCondition("{'IpAddress':{'acs:sourceip':'10.0.0.0/8'}}"),
            "Statement[0].Condition.IpAddress key \"acs:sourceip\" is not a supported global key;"
                + " supported global keys are acs:SourceIp, acs:CurrentTime, acs:SecureTransport"),
        arguments(withCondition("{'IpAddress':{'ACS:SourceIp':'10.0.0.0/8'}}"),
            "Statement[0].Condition.IpAddress key \"ACS:SourceIp\" is not a supported global key;"
                + " supported global keys are acs:SourceIp, acs:CurrentTime, acs:SecureTransport"),
        arguments(withCondition("{'StringEquals':{'acs:SourceIp':'10.0.0.1'}}"),
            "Statement[0].Condition.StringEquals key \"acs:SourceIp\" cannot be used with"
                + " StringEquals; use IpAddress or NotIpAddress"),
        arguments(withCondition("{'StringLike':{'acs:CurrentTime':'2024-*'}}"),
            "Statement[0].Condition.StringLike key \"acs:CurrentTime\" cannot be used with"
                + " StringLike; use DateLessThan or DateGreaterThan"),
        arguments(withCondition("{'StringEquals':{'acs:SecureTransport':'true'}}"),
            "Statement[0].Condition.StringEquals key \"acs:SecureTransport\" cannot be used with"
                + " StringEquals; use Bool"),
        arguments(withCondition("{'StringEquals':{'Prefix':'data/'}}"),
            "Statement[0].Condition.StringEquals key \"Prefix\" is not a valid condition key;"
                + " expected <service>:<name> such as pangu:Prefix"),
        arguments(withCondition("{'StringEquals':{'pangu:Prefix':[]}}"),
            "Statement[0].Condition.StringEquals.pangu:Prefix must not be empty"),
        arguments(withCondition("{'StringEquals':{'pangu:Prefix':5}}"),
            "Statement[0].Condition.StringEquals.pangu:Prefix must be a string or an array of"
                + " strings, got number 5"),
        arguments(withCondition("{'IpAddress':{'acs:SourceIp':['10.0.0.0/8','10.0.0.0/33']}}"),
            "Statement[0].Condition.IpAddress.acs:SourceIp[1] \"10.0.0.0/33\" is not valid for"
                + " IpAddress: prefix length 33 is larger than 32"),
        arguments(withCondition("{'NotIpAddress':{'acs:SourceIp':'intranet'}}"),
            "Statement[0].Condition.NotIpAddress.acs:SourceIp \"intranet\" is not valid for"
                + " NotIpAddress: not an IPv4 or IPv6 address"),
        arguments(withCondition("{'DateLessThan':{'acs:CurrentTime':'2024-01-01'}}"),
            "Statement[0].Condition.DateLessThan.acs:CurrentTime \"2024-01-01\" is not valid for"
                + " DateLessThan: expected an ISO-8601 UTC time such as 2024-01-31T23:59:59Z"),
        arguments(
            withCondition("{'DateGreaterThan':{'acs:CurrentTime':'2024-01-01T08:00:00+08:00'}}"),
            "Statement[0].Condition.DateGreaterThan.acs:CurrentTime \"2024-01-01T08:00:00+08:00\""
                + " is not valid for DateGreaterThan: expected an ISO-8601 UTC time such as"
                + " 2024-01-31T23:59:59Z"),
        arguments(withCondition("{'DateGreaterThan':{'acs:CurrentTime':'2024-02-30T00:00:00Z'}}"),
            "Statement[0].Condition.DateGreaterThan.acs:CurrentTime \"2024-02-30T00:00:00Z\" is"
                + " not valid for DateGreaterThan: expected an ISO-8601 UTC time such as"
                + " 2024-01-31T23:59:59Z"),
        arguments(withCondition("{'Bool':{'acs:SecureTransport':'yes'}}"),
            "Statement[0].Condition.Bool.acs:SecureTransport \"yes\" is not valid for Bool:"
                + " expected \"true\" or \"false\""),
        arguments(withCondition("{'Bool':{'acs:SecureTransport':true}}"),
            "Statement[0].Condition.Bool.acs:SecureTransport must be a string or an array of"
                + " strings, got boolean true"));
  }

  private static String resource(String resourceJson) {
    return document("{'Effect':'Allow','Action':'pangu:ReadFile','Resource':" + resourceJson + "}");
  }

  @ParameterizedTest(name = "[{index}] {1}")
  @MethodSource("invalidDocuments")
  void rejectsInvalidDocumentSayingWhere(String singleQuoted, String message) {
    assertThatThrownBy(() -> PolicyDocument.parse(json(singleQuoted)))
        .isInstanceOf(InvalidPolicyException.class)
        .hasMessage(message);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "{",
        "{'Version':'1','Statement':[" + OK + "]} {}",
        "{'Version':'1','Version':'1','Statement':[" + OK + "]}",
        "{'Version':'1','Statement':[{'Effect':'Allow','Effect':'Deny','Action':'a:b','Resource':'*'}]}",
        "{'Version':'1','Statement':[" + OK + ",]}",
      })
  void rejectsMalformedJsonAndDuplicateKeys(String singleQuoted) {
    assertThatThrownBy(() -> PolicyDocument.parse(json(singleQuoted)))
        .isInstanceOf(InvalidPolicyException.class)
        .hasMessageStartingWith("Policy document is not valid JSON: ")
        .hasMessageContaining("line 1, column ");
  }

  @Test
  void duplicateKeyErrorNamesTheKey() {
    String text = json("{'Version':'1','Statement':[" + OK + "],'Statement':[" + OK + "]}");
    assertThatThrownBy(() -> PolicyDocument.parse(text)).hasMessageContaining("'Statement'");
  }

  @Test
  void documentSizeIsLimitedToTheNamedMaximum() throws Exception {
    String prefix = "{'Version':'1','Statement':[{'Effect':'Allow','Action':'pangu:ReadFile',"
        + "'Resource':'acs:pangu:*:tenant1:file/";
    String suffix = "'}]}";
    String atLimit = json(prefix
        + "x".repeat(PolicyLimits.MAX_DOCUMENT_CHARS - prefix.length() - suffix.length())
        + suffix);
    assertThat(atLimit).hasSize(PolicyLimits.MAX_DOCUMENT_CHARS);
    assertThat(PolicyDocument.parse(atLimit).statements()).hasSize(1);

    String overLimit = atLimit.replace("file/x", "file/xx");
    assertThatThrownBy(() -> PolicyDocument.parse(overLimit))
        .hasMessage("Policy document has 6145 characters; at most 6144 are allowed");
  }

  @Test
  void statementCountIsLimited() throws Exception {
    String minimal = "{'Effect':'Allow','Action':'a:b','Resource':'*'}";
    List<String> statements =
        new ArrayList<>(Collections.nCopies(PolicyLimits.MAX_STATEMENTS_PER_DOCUMENT, minimal));
    assertThat(PolicyDocument.parse(json(document(statements.toArray(String[]::new))))
        .statements()).hasSize(PolicyLimits.MAX_STATEMENTS_PER_DOCUMENT);

    statements.add(minimal);
    assertThatThrownBy(() -> PolicyDocument.parse(json(document(statements.toArray(String[]::new)))))
        .hasMessage("Statement has 101 entries; at most 100 are allowed");
  }

  @Test
  void listLengthIsLimited() throws Exception {
    String atLimit = listOf(PolicyLimits.MAX_ENTRIES_PER_LIST, "'a:b'");
    assertThat(PolicyDocument.parse(json(actions(atLimit))).statements().get(0).actions())
        .hasSize(PolicyLimits.MAX_ENTRIES_PER_LIST);

    assertThatThrownBy(() -> PolicyDocument.parse(json(actions(listOf(101, "'a:b'")))))
        .hasMessage("Statement[0].Action has 101 entries; at most 100 are allowed");
    assertThatThrownBy(() -> PolicyDocument.parse(json(document(
            "{'Effect':'Allow','Action':'a:b','Resource':" + listOf(101, "'*'") + "}"))))
        .hasMessage("Statement[0].Resource has 101 entries; at most 100 are allowed");
    assertThatThrownBy(() -> PolicyDocument.parse(json(withCondition(
            "{'StringEquals':{'pangu:Prefix':" + listOf(101, "'p'") + "}}"))))
        .hasMessage("Statement[0].Condition.StringEquals.pangu:Prefix has 101 entries; at most"
            + " 100 are allowed");
  }

  @Test
  void conditionKeysPerStatementAreLimited() throws Exception {
    assertThat(PolicyDocument.parse(json(withCondition(conditionKeys(20))))
        .statements().get(0).conditions()).hasSize(PolicyLimits.MAX_CONDITIONS_PER_STATEMENT);
    assertThatThrownBy(() -> PolicyDocument.parse(json(withCondition(conditionKeys(21)))))
        .hasMessage("Statement[0].Condition has more than 20 condition keys; at most 20 are"
            + " allowed");
  }

  private static String conditionKeys(int count) {
    List<String> keys = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      keys.add("'pangu:Key" + i + "':'v'");
    }
    return "{'StringEquals':{" + String.join(",", keys) + "}}";
  }

  private static String listOf(int count, String entry) {
    return "[" + String.join(",", Collections.nCopies(count, entry)) + "]";
  }

  private static String actions(String actionList) {
    return document("{'Effect':'Allow','Action':" + actionList + ",'Resource':'*'}");
  }

  @Test
  void parsesEveryPartIntoTheModel() throws Exception {
    PolicyDocument parsed = PolicyDocument.parse(json("""
        {
          "Version": "1",
          "Statement": [
            {
              "Effect": "Allow",
              "Action": ["pangu:ReadFile", "pangu:List*"],
              "Resource": "acs:pangu:*:tenant1:file/data/*",
              "Condition": {
                "Bool": {"acs:SecureTransport": "true"},
                "IpAddress": {"acs:SourceIp": ["10.0.0.0/8", "2001:db8::/32"]}
              }
            },
            {"Effect": "Deny", "Action": "*", "Resource": ["*"]}
          ]
        }
        """));

    assertThat(parsed.statements()).hasSize(2);
    Statement allow = parsed.statements().get(0);
    assertThat(allow.effect()).isEqualTo(Effect.ALLOW);
    assertThat(allow.actions()).containsExactly("pangu:ReadFile", "pangu:List*");
    assertThat(allow.resources()).containsExactly("acs:pangu:*:tenant1:file/data/*");
    // Canonical order: by operator as declared in ConditionOperator, not as written.
    assertThat(allow.conditions()).extracting(Condition::operator)
        .containsExactly(ConditionOperator.IP_ADDRESS, ConditionOperator.BOOL);
    assertThat(allow.conditions().get(0).key()).isEqualTo(ConditionKeys.SOURCE_IP);
    assertThat(allow.conditions().get(0).values()).containsExactly("10.0.0.0/8", "2001:db8::/32");
    Statement deny = parsed.statements().get(1);
    assertThat(deny.effect()).isEqualTo(Effect.DENY);
    assertThat(deny.actions()).containsExactly("*");
    assertThat(deny.resources()).containsExactly("*");
    assertThat(deny.conditions()).isEmpty();
  }

  @Test
  void writesTheCanonicalForm() throws Exception {
    PolicyDocument parsed = PolicyDocument.parse(json("""
        { "Statement": [ {
            "Condition": {
              "StringLike": {"pangu:UserAgent": "apsara-cli/*"},
              "StringEquals": {"pangu:Prefix": ["logs/", "data/"], "pangu:Bucket": ["b"]}
            },
            "Resource": ["acs:pangu:*:tenant1:file/*"],
            "Action": ["pangu:ReadFile"],
            "Effect": "Allow" } ],
          "Version": "1" }
        """));

    assertThat(parsed.toJson()).isEqualTo(json(
        "{'Version':'1','Statement':[{'Effect':'Allow','Action':'pangu:ReadFile',"
            + "'Resource':'acs:pangu:*:tenant1:file/*','Condition':{"
            + "'StringEquals':{'pangu:Bucket':'b','pangu:Prefix':['logs/','data/']},"
            + "'StringLike':{'pangu:UserAgent':'apsara-cli/*'}}}]}"));
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "{'Version':'1','Statement':[{'Effect':'Allow','Action':'*','Resource':'*'}]}",
        "{'Version':'1','Statement':[{'Effect':'Deny','Action':['nuwa:Put','nuwa:Delete*'],"
            + "'Resource':['acs:nuwa:*:tenant1:key/a','acs:nuwa:*:tenant1:key/b?']}]}",
        "{'Version':'1','Statement':[{'Effect':'Allow','Action':'pangu:*','Resource':'*',"
            + "'Condition':{'StringNotEquals':{'pangu:Prefix':'secret/'},"
            + "'NotIpAddress':{'acs:SourceIp':['192.0.2.0/24','2001:db8::/32']},"
            + "'DateGreaterThan':{'acs:CurrentTime':'2024-01-01T00:00:00Z'},"
            + "'Bool':{'acs:SecureTransport':'true'}}},"
            + "{'Effect':'Deny','Action':'pangu:Delete*','Resource':'acs:pangu:*:*:file/*'}]}",
        // Escapes, non-ASCII and a character outside the Basic Multilingual Plane.
        "{'Version':'1','Statement':[{'Effect':'Allow','Action':'pangu:ReadFile',"
            + "'Resource':'acs:pangu:*:tenant1:file/\\u00e4 \\\\ \\'q\\' \uD83D\uDE00',"
            + "'Condition':{'StringEquals':{'pangu:Tag':'tab\\there\\nnewline'}}}]}",
      })
  void roundTripIsStable(String singleQuoted) throws Exception {
    String text = json(singleQuoted);
    PolicyDocument first = PolicyDocument.parse(text);
    String canonical = first.toJson();
    PolicyDocument second = PolicyDocument.parse(canonical);

    assertThat(second).isEqualTo(first).hasSameHashCodeAs(first);
    assertThat(second.toJson()).isEqualTo(canonical);
    assertThat(canonical.length()).isLessThanOrEqualTo(text.length());
  }

  @Test
  void theLargestDocumentStillFitsAfterWriting() throws Exception {
    // Single-element arrays become plain strings and whitespace goes, so the canonical text is
    // never longer than what was parsed; a document at the size limit round-trips.
    StringBuilder statements = new StringBuilder();
    String one = "{ \"Effect\" : \"Allow\" , \"Action\" : [ \"a:b\" ] , \"Resource\" : [ \"*\" ] }";
    while (statements.length() + one.length() + 40 < PolicyLimits.MAX_DOCUMENT_CHARS) {
      statements.append(statements.length() == 0 ? "" : ",").append(one);
    }
    String text = "{\"Version\":\"1\",\"Statement\":[" + statements + "]}";
    PolicyDocument parsed = PolicyDocument.parse(text);

    assertThat(PolicyDocument.parse(parsed.toJson())).isEqualTo(parsed);
    assertThat(parsed.toJson().length()).isLessThan(text.length());
  }

  @Test
  void documentsDifferingInAnyPartAreNotEqual() throws Exception {
    String base = "{'Version':'1','Statement':[{'Effect':'Allow','Action':'a:b','Resource':'*',"
        + "'Condition':{'StringEquals':{'s:k':'v'}}}]}";
    PolicyDocument document = PolicyDocument.parse(json(base));
    assertThat(PolicyDocument.parse(json(base))).isEqualTo(document);
    for (String changed :
        List.of(
            base.replace("Allow", "Deny"),
            base.replace("'a:b'", "'a:c'"),
            base.replace("'*'", "'acs:s:*:t:x'"),
            base.replace("StringEquals", "StringLike"),
            base.replace("s:k", "s:j"),
            base.replace("'v'", "['v','w']"))) {
      assertThat(PolicyDocument.parse(json(changed))).as(changed).isNotEqualTo(document);
    }
  }

  @Test
  void policyNamesAreChecked() throws Exception {
    PolicyDocument document = PolicyDocument.parse(json(document(OK)));
    assertThat(new Policy("ReadData", document).name()).isEqualTo("ReadData");
    assertThatThrownBy(() -> new Policy(" ", document))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new Policy("p".repeat(PolicyLimits.MAX_POLICY_NAME_CHARS + 1), document))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
