package org.apsara.security.policy;

import static java.util.Map.entry;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class PolicyEvaluatorTest {
  /** The policies the table refers to by name; single quotes stand for double quotes. */
  private static final Map<String, String> POLICIES =
      Map.ofEntries(
          entry("ReadData", allow("'pangu:ReadFile'", "'acs:pangu:*:tenant1:file/data/*'")),
          entry("PanguAll", allow("'pangu:*'", "'acs:pangu:*:tenant1:*'")),
          entry("Everything", allow("'*'", "'*'")),
          entry("NuwaGet", allow("'nuwa:Get*'", "'acs:nuwa:*:tenant1:key/app/???'")),
          entry("NoDelete", statements(
              "{'Effect':'Deny','Action':'pangu:Delete*','Resource':'*'}")),
          entry("LogsButSecrets", statements(
              "{'Effect':'Allow','Action':'pangu:ReadFile','Resource':'acs:pangu:*:*:file/logs/*'}",
              "{'Effect':'Deny','Action':'pangu:*','Resource':'acs:pangu:*:*:file/logs/secret*'}")),
          entry("FromOffice", allowReadIf(
              "{'IpAddress':{'acs:SourceIp':['10.0.0.0/8','2001:db8::/32']}}")),
          entry("DenyOutside", statements(
              "{'Effect':'Deny','Action':'*','Resource':'*',"
                  + "'Condition':{'NotIpAddress':{'acs:SourceIp':'10.0.0.0/8'}}}")),
          entry("Before2030", allowReadIf(
              "{'DateLessThan':{'acs:CurrentTime':'2030-01-01T00:00:00Z'}}")),
          entry("After2024", allowReadIf(
              "{'DateGreaterThan':{'acs:CurrentTime':'2024-01-01T00:00:00Z'}}")),
          entry("TlsOnly", allowReadIf("{'Bool':{'acs:SecureTransport':'true'}}")),
          entry("DataOrLogs", allowReadIf("{'StringEquals':{'pangu:Prefix':['data/','logs/']}}")),
          entry("NotSecret", allowReadIf("{'StringNotEquals':{'pangu:Prefix':'secret/'}}")),
          entry("CliOnly", allowReadIf("{'StringLike':{'pangu:UserAgent':'apsara-cli/*'}}")),
          entry("NoCurl", allowReadIf("{'StringNotLike':{'pangu:UserAgent':'curl/*'}}")),
          entry("ProdTag", allowReadIf("{'StringEqualsIgnoreCase':{'pangu:Tag':'Prod'}}")),
          entry("OfficeAndTls", allowReadIf(
              "{'IpAddress':{'acs:SourceIp':'10.0.0.0/8'},'Bool':{'acs:SecureTransport':'true'}}")));

  private static final String ALICE = "acs:ram::tenant1:user/alice";

  /**
   * Each row: the policies attached (in order), the request, and the expected decision written as
   * {@code OUTCOME Policy[statement]}. An empty context cell means an empty context; context
   * entries are {@code key=value}, separated by {@code ;}.
   */
  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      textBlock =
          """
          # case                              | policies                | action           | resource                                       | context                                           | expected
          exact action, resource under prefix | ReadData                | pangu:ReadFile   | acs:pangu:cn-north:tenant1:file/data/a.txt     |                                                   | ALLOW ReadData[0]
          resource outside the prefix         | ReadData                | pangu:ReadFile   | acs:pangu:cn-north:tenant1:file/logs/a.txt     |                                                   | IMPLICIT_DENY
          resource of another account         | ReadData                | pangu:ReadFile   | acs:pangu:cn-north:tenant2:file/data/a.txt     |                                                   | IMPLICIT_DENY
          resource matching is case-sensitive | ReadData                | pangu:ReadFile   | acs:pangu:cn-north:tenant1:file/DATA/a.txt     |                                                   | IMPLICIT_DENY
          action matching ignores case        | ReadData                | PANGU:readfile   | acs:pangu:cn-north:tenant1:file/data/a.txt     |                                                   | ALLOW ReadData[0]
          action not listed                   | ReadData                | pangu:WriteFile  | acs:pangu:cn-north:tenant1:file/data/a.txt     |                                                   | IMPLICIT_DENY
          service-wide action wildcard        | PanguAll                | pangu:WriteFile  | acs:pangu:cn-north:tenant1:file/x              |                                                   | ALLOW PanguAll[0]
          wildcard does not cross services    | PanguAll                | nuwa:Put         | acs:pangu:cn-north:tenant1:file/x              |                                                   | IMPLICIT_DENY
          star matches any action, resource   | Everything              | fuxi:SubmitJob   | acs:fuxi:cn-north:tenant9:job/1                |                                                   | ALLOW Everything[0]
          action prefix wildcard              | NuwaGet                 | nuwa:GetRange    | acs:nuwa:cn-north:tenant1:key/app/abc          |                                                   | ALLOW NuwaGet[0]
          question marks need exact count     | NuwaGet                 | nuwa:GetRange    | acs:nuwa:cn-north:tenant1:key/app/abcd         |                                                   | IMPLICIT_DENY
          action outside the prefix           | NuwaGet                 | nuwa:Put         | acs:nuwa:cn-north:tenant1:key/app/abc          |                                                   | IMPLICIT_DENY
          explicit deny                       | NoDelete                | pangu:DeleteFile | acs:pangu:cn-north:tenant1:file/data/a.txt     |                                                   | EXPLICIT_DENY NoDelete[0]
          deny wins over earlier allow        | Everything,NoDelete     | pangu:DeleteFile | acs:pangu:cn-north:tenant1:file/data/a.txt     |                                                   | EXPLICIT_DENY NoDelete[0]
          deny wins over later allow          | NoDelete,Everything     | pangu:DeleteFile | acs:pangu:cn-north:tenant1:file/data/a.txt     |                                                   | EXPLICIT_DENY NoDelete[0]
          non-matching deny leaves the allow  | Everything,NoDelete     | pangu:ReadFile   | acs:pangu:cn-north:tenant1:file/data/a.txt     |                                                   | ALLOW Everything[0]
          first matching allow is named       | ReadData,PanguAll       | pangu:ReadFile   | acs:pangu:cn-north:tenant1:file/data/a.txt     |                                                   | ALLOW ReadData[0]
          second policy allows                | ReadData,PanguAll       | pangu:WriteFile  | acs:pangu:cn-north:tenant1:file/data/a.txt     |                                                   | ALLOW PanguAll[0]
          no policies at all                  |                         | pangu:ReadFile   | acs:pangu:cn-north:tenant1:file/data/a.txt     |                                                   | IMPLICIT_DENY
          allow statement of a policy         | LogsButSecrets          | pangu:ReadFile   | acs:pangu:cn-north:tenant1:file/logs/app.log   |                                                   | ALLOW LogsButSecrets[0]
          deny statement of the same policy   | LogsButSecrets          | pangu:ReadFile   | acs:pangu:cn-north:tenant1:file/logs/secret.db |                                                   | EXPLICIT_DENY LogsButSecrets[1]
          IpAddress, IPv4 inside              | FromOffice              | pangu:ReadFile   | acs:pangu:cn-north:tenant1:file/a              | acs:SourceIp=10.1.2.3                             | ALLOW FromOffice[0]
          IpAddress, IPv4 outside             | FromOffice              | pangu:ReadFile   | acs:pangu:cn-north:tenant1:file/a              | acs:SourceIp=192.0.2.1                            | IMPLICIT_DENY
          IpAddress, IPv6 inside              | FromOffice              | pangu:ReadFile   | acs:pangu:cn-north:tenant1:file/a              | acs:SourceIp=2001:db8::7                          | ALLOW FromOffice[0]
          IpAddress, IPv6 outside             | FromOffice              | pangu:ReadFile   | acs:pangu:cn-north:tenant1:file/a              | acs:SourceIp=2001:db9::7                          | IMPLICIT_DENY
          IpAddress, IPv4-mapped client       | FromOffice              | pangu:ReadFile   | acs:pangu:cn-north:tenant1:file/a              | acs:SourceIp=::ffff:10.9.8.7                      | ALLOW FromOffice[0]
          IpAddress, key missing              | FromOffice              | pangu:ReadFile   | acs:pangu:cn-north:tenant1:file/a              |                                                   | IMPLICIT_DENY
          IpAddress, value not an address     | FromOffice              | pangu:ReadFile   | acs:pangu:cn-north:tenant1:file/a              | acs:SourceIp=office.example                       | IMPLICIT_DENY
          NotIpAddress, outside: deny         | Everything,DenyOutside  | pangu:ReadFile   | acs:pangu:cn-north:tenant1:file/a              | acs:SourceIp=192.0.2.1                            | EXPLICIT_DENY DenyOutside[0]
          NotIpAddress, inside: no deny       | Everything,DenyOutside  | pangu:ReadFile   | acs:pangu:cn-north:tenant1:file/a              | acs:SourceIp=10.0.0.1                             | ALLOW Everything[0]
          NotIpAddress, key missing: no deny  | Everything,DenyOutside  | pangu:ReadFile   | acs:pangu:cn-north:tenant1:file/a              |                                                   | ALLOW Everything[0]
          DateLessThan, before                | Before2030              | pangu:ReadFile   | acs:pangu:cn-north:tenant1:file/a              | acs:CurrentTime=2029-12-31T23:59:59Z              | ALLOW Before2030[0]
          DateLessThan, at the instant        | Before2030              | pangu:ReadFile   | acs:pangu:cn-north:tenant1:file/a              | acs:CurrentTime=2030-01-01T00:00:00Z              | IMPLICIT_DENY
          DateLessThan, time with offset      | Before2030              | pangu:ReadFile   | acs:pangu:cn-north:tenant1:file/a              | acs:CurrentTime=2025-01-01T00:00:00+08:00         | IMPLICIT_DENY
          DateGreaterThan, after              | After2024               | pangu:ReadFile   | acs:pangu:cn-north:tenant1:file/a              | acs:CurrentTime=2024-01-01T00:00:00.001Z          | ALLOW After2024[0]
          DateGreaterThan, before             | After2024               | pangu:ReadFile   | acs:pangu:cn-north:tenant1:file/a              | acs:CurrentTime=2023-12-31T23:59:59Z              | IMPLICIT_DENY
          Bool, true                          | TlsOnly                 | pangu:ReadFile   | acs:pangu:cn-north:tenant1:file/a              | acs:SecureTransport=true                          | ALLOW TlsOnly[0]
          Bool, true in capitals              | TlsOnly                 | pangu:ReadFile   | acs:pangu:cn-north:tenant1:file/a              | acs:SecureTransport=TRUE                          | ALLOW TlsOnly[0]
          Bool, false                         | TlsOnly                 | pangu:ReadFile   | acs:pangu:cn-north:tenant1:file/a              | acs:SecureTransport=false                         | IMPLICIT_DENY
          StringEquals, first value           | DataOrLogs              | pangu:ReadFile   | acs:pangu:cn-north:tenant1:file/a              | pangu:Prefix=data/                                | ALLOW DataOrLogs[0]
          StringEquals, values are ORed       | DataOrLogs              | pangu:ReadFile   | acs:pangu:cn-north:tenant1:file/a              | pangu:Prefix=logs/                                | ALLOW DataOrLogs[0]
          StringEquals, case differs          | DataOrLogs              | pangu:ReadFile   | acs:pangu:cn-north:tenant1:file/a              | pangu:Prefix=Data/                                | IMPLICIT_DENY
          StringEquals, context key case      | DataOrLogs              | pangu:ReadFile   | acs:pangu:cn-north:tenant1:file/a              | pangu:prefix=data/                                | IMPLICIT_DENY
          StringNotEquals, different          | NotSecret               | pangu:ReadFile   | acs:pangu:cn-north:tenant1:file/a              | pangu:Prefix=data/                                | ALLOW NotSecret[0]
          StringNotEquals, equal              | NotSecret               | pangu:ReadFile   | acs:pangu:cn-north:tenant1:file/a              | pangu:Prefix=secret/                              | IMPLICIT_DENY
          StringNotEquals, key missing        | NotSecret               | pangu:ReadFile   | acs:pangu:cn-north:tenant1:file/a              |                                                   | IMPLICIT_DENY
          StringLike, matches                 | CliOnly                 | pangu:ReadFile   | acs:pangu:cn-north:tenant1:file/a              | pangu:UserAgent=apsara-cli/1.2                    | ALLOW CliOnly[0]
          StringLike, does not match          | CliOnly                 | pangu:ReadFile   | acs:pangu:cn-north:tenant1:file/a              | pangu:UserAgent=curl/8.0                          | IMPLICIT_DENY
          StringNotLike, does not match       | NoCurl                  | pangu:ReadFile   | acs:pangu:cn-north:tenant1:file/a              | pangu:UserAgent=apsara-cli/1.2                    | ALLOW NoCurl[0]
          StringNotLike, matches              | NoCurl                  | pangu:ReadFile   | acs:pangu:cn-north:tenant1:file/a              | pangu:UserAgent=curl/8.0                          | IMPLICIT_DENY
          StringEqualsIgnoreCase, other case  | ProdTag                 | pangu:ReadFile   | acs:pangu:cn-north:tenant1:file/a              | pangu:Tag=PROD                                    | ALLOW ProdTag[0]
          StringEqualsIgnoreCase, differs     | ProdTag                 | pangu:ReadFile   | acs:pangu:cn-north:tenant1:file/a              | pangu:Tag=Production                              | IMPLICIT_DENY
          conditions are ANDed, both hold     | OfficeAndTls            | pangu:ReadFile   | acs:pangu:cn-north:tenant1:file/a              | acs:SourceIp=10.0.0.1;acs:SecureTransport=true    | ALLOW OfficeAndTls[0]
          conditions are ANDed, one fails     | OfficeAndTls            | pangu:ReadFile   | acs:pangu:cn-north:tenant1:file/a              | acs:SourceIp=10.0.0.1;acs:SecureTransport=false   | IMPLICIT_DENY
          conditions are ANDed, one missing   | OfficeAndTls            | pangu:ReadFile   | acs:pangu:cn-north:tenant1:file/a              | acs:SourceIp=10.0.0.1                             | IMPLICIT_DENY
          condition, other action unaffected  | FromOffice,ReadData     | pangu:ReadFile   | acs:pangu:cn-north:tenant1:file/data/x         | acs:SourceIp=192.0.2.1                            | ALLOW ReadData[0]
          """)
  void decidesAsTabulated(
      String description,
      String policyNames,
      String action,
      String resource,
      String context,
      String expected)
      throws Exception {
    EvaluationRequest request = new EvaluationRequest(ALICE, action, resource, context(context));

    Decision decision = new PolicyEvaluator().evaluate(request, policies(policyNames));

    assertThat(decision).isEqualTo(expectedDecision(expected));
    assertThat(decision.allowed()).isEqualTo(expected.startsWith("ALLOW"));
  }

  @Test
  void decisionExplainsItself() {
    assertThat(Decision.explicitDeny("NoDelete", 0))
        .hasToString("EXPLICIT_DENY by policy \"NoDelete\" Statement[0]");
    assertThat(Decision.allow("ReadData", 2))
        .hasToString("ALLOW by policy \"ReadData\" Statement[2]");
    assertThat(Decision.IMPLICIT_DENY).hasToString("IMPLICIT_DENY");
    assertThat(Decision.IMPLICIT_DENY.allowed()).isFalse();
  }

  @Test
  void decisionRefusesInconsistentParts() {
    assertThatThrownBy(() -> new Decision(Decision.Outcome.ALLOW, null, -1))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new Decision(Decision.Outcome.EXPLICIT_DENY, "p", -1))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new Decision(Decision.Outcome.IMPLICIT_DENY, "p", 0))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void requestRefusesEmptyPartsAndCopiesItsContext() {
    assertThatThrownBy(() -> new EvaluationRequest("", "pangu:ReadFile", "*"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("principal must not be empty");
    assertThatThrownBy(() -> new EvaluationRequest(ALICE, "", "*"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new EvaluationRequest(ALICE, "pangu:ReadFile", null))
        .isInstanceOf(NullPointerException.class);

    Map<String, String> context = new HashMap<>(Map.of(ConditionKeys.SOURCE_IP, "10.0.0.1"));
    EvaluationRequest request = new EvaluationRequest(ALICE, "pangu:ReadFile", "*", context);
    context.put(ConditionKeys.SOURCE_IP, "192.0.2.1");
    assertThat(request.context()).containsEntry(ConditionKeys.SOURCE_IP, "10.0.0.1");
  }

  @Test
  void reportsWhetherTheContextWasRead() throws Exception {
    PolicyEvaluator evaluator = new PolicyEvaluator();
    EvaluationRequest read = new EvaluationRequest(ALICE, "pangu:ReadFile", "acs:pangu:r:tenant1:file/data/a");
    EvaluationRequest write = new EvaluationRequest(ALICE, "pangu:WriteFile", "acs:pangu:r:tenant1:file/data/a");

    assertThat(evaluator.evaluateTracked(read, policies("ReadData")).readContext()).isFalse();
    // The condition applies to reads only; a write never looks at it.
    assertThat(evaluator.evaluateTracked(read, policies("ReadData,FromOffice")).readContext())
        .isTrue();
    assertThat(evaluator.evaluateTracked(write, policies("PanguAll,FromOffice")).readContext())
        .isFalse();
    // An unconditional deny found first ends the evaluation before the conditional one is read.
    EvaluationRequest delete = new EvaluationRequest(ALICE, "pangu:DeleteFile", "acs:pangu:r:t:f");
    assertThat(evaluator.evaluateTracked(delete, policies("NoDelete,DenyOutside")).readContext())
        .isFalse();
    assertThat(evaluator.evaluateTracked(delete, policies("DenyOutside,NoDelete")).readContext())
        .isTrue();
  }

  static List<Policy> policies(String commaSeparatedNames) throws InvalidPolicyException {
    List<Policy> policies = new ArrayList<>();
    if (commaSeparatedNames == null) {
      return policies;
    }
    for (String name : commaSeparatedNames.split(",")) {
      String json = POLICIES.get(name.trim());
      assertThat(json).as("policy %s", name).isNotNull();
      policies.add(new Policy(name.trim(), PolicyDocument.parse(json)));
    }
    return policies;
  }

  private static Map<String, String> context(String cell) {
    Map<String, String> context = new HashMap<>();
    if (cell == null) {
      return context;
    }
    for (String pair : cell.split(";")) {
      int equals = pair.indexOf('=');
      context.put(pair.substring(0, equals).trim(), pair.substring(equals + 1).trim());
    }
    return context;
  }

  /** Reads {@code ALLOW Name[0]}, {@code EXPLICIT_DENY Name[1]} or {@code IMPLICIT_DENY}. */
  private static Decision expectedDecision(String cell) {
    String[] parts = cell.split(" ");
    Decision.Outcome outcome = Decision.Outcome.valueOf(parts[0]);
    if (outcome == Decision.Outcome.IMPLICIT_DENY) {
      return Decision.IMPLICIT_DENY;
    }
    String by = parts[1];
    int bracket = by.indexOf('[');
    return new Decision(
        outcome,
        by.substring(0, bracket),
        Integer.parseInt(by.substring(bracket + 1, by.length() - 1)));
  }

  private static String allow(String actionJson, String resourceJson) {
    return statements("{'Effect':'Allow','Action':" + actionJson + ",'Resource':" + resourceJson + "}");
  }

  private static String allowReadIf(String conditionJson) {
    return statements(
        "{'Effect':'Allow','Action':'pangu:ReadFile','Resource':'*','Condition':" + conditionJson + "}");
  }

  private static String statements(String... statements) {
    return ("{'Version':'1','Statement':[" + String.join(",", statements) + "]}").replace('\'', '"');
  }
}
