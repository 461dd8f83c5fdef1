package org.apsara.security.sign;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SignatureV3Test {
  private static final String EMPTY_SHA256 =
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

  /**
   * The worked example of Alibaba Cloud's V3 signature documentation ("Request syntax and
   * signature method V3", section "Signature examples", fixed parameter values): every
   * intermediate value below is the one published there.
   */
  @Test
  void reproducesTheDocumentedExample() {
    Map<String, String> headers = Map.of(
        "host", "ecs.cn-shanghai.aliyuncs.com",
        "x-acs-action", "RunInstances",
        "x-acs-content-sha256", EMPTY_SHA256,
        "x-acs-date", "2023-10-26T10:22:32Z",
        "x-acs-signature-nonce", "3156853299f313e23d1673dc12e1703d",
        "x-acs-version", "2014-05-26");
    Map<String, String> query = Map.of(
        "RegionId", "cn-shanghai",
        "ImageId", "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd");

    String canonicalRequest = SignatureV3.canonicalRequest(
        "POST", "/", query, headers, SignatureV3.sha256Hex(new byte[0]));

    assertThat(canonicalRequest).isEqualTo("""
        POST
        /
        ImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai
        host:ecs.cn-shanghai.aliyuncs.com
        x-acs-action:RunInstances
        x-acs-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
        x-acs-date:2023-10-26T10:22:32Z
        x-acs-signature-nonce:3156853299f313e23d1673dc12e1703d
        x-acs-version:2014-05-26

        host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version
        e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855""");
    String stringToSign = SignatureV3.stringToSign(canonicalRequest);
    assertThat(stringToSign).isEqualTo(
        "ACS3-HMAC-SHA256\n7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259");
    String signature = SignatureV3.signature("YourAccessKeySecret", stringToSign);
    assertThat(signature)
        .isEqualTo("06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0");
    AuthorizationHeader authorization = new AuthorizationHeader(
        "YourAccessKeyId", List.copyOf(new java.util.TreeSet<>(headers.keySet())), signature);
    assertThat(authorization.format()).isEqualTo("ACS3-HMAC-SHA256 Credential=YourAccessKeyId,"
        + "SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;"
        + "x-acs-version,Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0");
  }

  /**
   * The gRPC mapping. The documentation has no gRPC example, so the expected values were computed
   * by hand from the same canonical request with coreutils and OpenSSL:
   *
   * <pre>
   * printf 'POST\n/etcdserverpb.KV/Put\n\nhost:nuwa.example:2379\n...' | sha256sum
   * printf 'ACS3-HMAC-SHA256\n&lt;hash&gt;' | openssl dgst -sha256 -hmac ExampleSecretForApsaraTests000
   * </pre>
   */
  @Test
  void signsAGrpcCallAsComputedByHand() {
    String payload = SignatureV3.sha256Hex("hello".getBytes(StandardCharsets.UTF_8));
    assertThat(payload)
        .isEqualTo("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
    Map<String, String> headers = Map.of(
        "host", "nuwa.example:2379",
        "x-acs-action", "etcdserverpb.KV/Put",
        "x-acs-content-sha256", payload,
        "x-acs-date", "2024-05-01T08:00:00Z",
        "x-acs-signature-nonce", "0123456789abcdef0123456789abcdef");

    String canonicalRequest =
        SignatureV3.grpcCanonicalRequest("etcdserverpb.KV/Put", headers, payload);

    assertThat(canonicalRequest).startsWith("POST\n/etcdserverpb.KV/Put\n\nhost:nuwa.example:2379\n");
    String stringToSign = SignatureV3.stringToSign(canonicalRequest);
    assertThat(stringToSign).isEqualTo(
        "ACS3-HMAC-SHA256\n4dcdd11465c3c083fcb43fb0f71f04445793f4ea8dc88e00aa1395451ec8243e");
    assertThat(SignatureV3.signature("ExampleSecretForApsaraTests000", stringToSign))
        .isEqualTo("d51ea689eb3616f9735150f7befd0375c13ea9175130f92e365e108d59dfe6ae");
  }

  @Test
  void percentEncodesAsRfc3986() {
    assertThat(SignatureV3.percentEncode("a b*c~d/e=f+g")).isEqualTo("a%20b%2Ac~d%2Fe%3Df%2Bg");
    assertThat(SignatureV3.percentEncode("Az09-_.~")).isEqualTo("Az09-_.~");
    assertThat(SignatureV3.percentEncode("云")).isEqualTo("%E4%BA%91");
  }

  @Test
  void canonicalUriEncodesSegmentsButKeepsSlashes() {
    assertThat(SignatureV3.canonicalUri("/etcdserverpb.KV/Put")).isEqualTo("/etcdserverpb.KV/Put");
    assertThat(SignatureV3.canonicalUri("/a b/c*d")).isEqualTo("/a%20b/c%2Ad");
    assertThat(SignatureV3.canonicalUri("")).isEqualTo("/");
  }

  @Test
  void canonicalQueryStringSortsByNameAndKeepsEmptyValues() {
    assertThat(SignatureV3.canonicalQueryString(Map.of("b", "2", "a", "", "c d", "x y")))
        .isEqualTo("a=&b=2&c%20d=x%20y");
    assertThat(SignatureV3.canonicalQueryString(Map.of())).isEmpty();
  }

  @Test
  void canonicalHeadersLowerCaseSortAndTrim() {
    assertThat(SignatureV3.canonicalHeaders(Map.of("X-Acs-B", " two ", "Host", "h")))
        .isEqualTo("host:h\nx-acs-b:two\n");
    assertThatThrownBy(() -> SignatureV3.canonicalHeaders(Map.of("Host", "a", "host", "b")))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void datesAreIsoUtcWithWholeSeconds() {
    Instant instant = Instant.parse("2024-05-01T08:00:00.987Z");
    assertThat(SignatureV3.formatDate(instant)).isEqualTo("2024-05-01T08:00:00Z");
    assertThat(SignatureV3.parseDate("2024-05-01T08:00:00Z"))
        .isEqualTo(Instant.parse("2024-05-01T08:00:00Z"));
    assertThatThrownBy(() -> SignatureV3.parseDate("2024-05-01 08:00:00"))
        .isInstanceOf(DateTimeParseException.class);
    assertThatThrownBy(() -> SignatureV3.parseDate("2024-05-01T08:00:00+08:00"))
        .isInstanceOf(DateTimeParseException.class);
  }

  @Test
  void constantTimeEqualsComparesWholeStrings() {
    assertThat(SignatureV3.constantTimeEquals("abc", "abc")).isTrue();
    assertThat(SignatureV3.constantTimeEquals("abc", "abd")).isFalse();
    assertThat(SignatureV3.constantTimeEquals("abc", "ab")).isFalse();
  }
}
