package org.apsara.security.sign;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class AuthorizationHeaderTest {
  private static final String SIGNATURE =
      "000000000000000000000000000000000000000000000000000000000000000f";
  private static final String VALID = "ACS3-HMAC-SHA256 Credential=LTAIexample,"
      + "SignedHeaders=host;x-acs-action,Signature=" + SIGNATURE;

  @Test
  void parsesWhatItFormats() throws Exception {
    AuthorizationHeader parsed = AuthorizationHeader.parse(VALID);

    assertThat(parsed.accessKeyId()).isEqualTo("LTAIexample");
    assertThat(parsed.signedHeaders()).containsExactly("host", "x-acs-action");
    assertThat(parsed.signature()).isEqualTo(SIGNATURE);
    assertThat(parsed.format()).isEqualTo(VALID);
  }

  @Test
  void toleratesSpacesAfterCommas() throws Exception {
    AuthorizationHeader parsed = AuthorizationHeader.parse(
        "ACS3-HMAC-SHA256 Credential=LTAIexample, SignedHeaders=host, Signature=" + SIGNATURE);

    assertThat(parsed.signedHeaders()).isEqualTo(List.of("host"));
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "",
      "Bearer abc",
      "ACS3-HMAC-SHA1 Credential=LTAIexample,SignedHeaders=host,Signature=00",
      "ACS3-HMAC-SHA256 Credential=LTAIexample,SignedHeaders=host",
      "ACS3-HMAC-SHA256 Credential=LTAIexample,Signature=abc,SignedHeaders=host",
      "ACS3-HMAC-SHA256 Credential=,SignedHeaders=host,Signature=" + SIGNATURE,
      "ACS3-HMAC-SHA256 Credential=LTAI ex,SignedHeaders=host,Signature=" + SIGNATURE,
      "ACS3-HMAC-SHA256 Credential=LTAIexample,SignedHeaders=x-acs-date;host,Signature="
          + SIGNATURE,
      "ACS3-HMAC-SHA256 Credential=LTAIexample,SignedHeaders=host;host,Signature=" + SIGNATURE,
      "ACS3-HMAC-SHA256 Credential=LTAIexample,SignedHeaders=Host,Signature=" + SIGNATURE,
      "ACS3-HMAC-SHA256 Credential=LTAIexample,SignedHeaders=host;;x,Signature=" + SIGNATURE,
      "ACS3-HMAC-SHA256 Credential=LTAIexample,SignedHeaders=host,Signature=ABC",
      "ACS3-HMAC-SHA256 Credential=LTAIexample,SignedHeaders=host,Signature=" + SIGNATURE + ",x=y",
  })
  void rejectsMalformedHeaders(String value) {
    SignatureRejectedException e =
        catchThrowableOfType(SignatureRejectedException.class, () -> AuthorizationHeader.parse(value));

    assertThat(e).isNotNull();
    assertThat(e.error()).isEqualTo(SignatureError.INVALID_AUTHORIZATION);
  }

  @Test
  void rejectsOverlongHeadersAndTooManySignedHeaders() {
    String tooLong = VALID + " ".repeat(AuthorizationHeader.LENGTH_MAX);
    StringBuilder names = new StringBuilder();
    for (int i = 0; i <= AuthorizationHeader.SIGNED_HEADERS_MAX; i++) {
      names.append(names.length() == 0 ? "" : ";").append(String.format("x-acs-h%02d", i));
    }
    String tooMany = "ACS3-HMAC-SHA256 Credential=LTAIexample,SignedHeaders=" + names
        + ",Signature=" + SIGNATURE;

    for (String value : List.of(tooLong, tooMany)) {
      SignatureRejectedException e = catchThrowableOfType(
          SignatureRejectedException.class, () -> AuthorizationHeader.parse(value));
      assertThat(e.error()).isEqualTo(SignatureError.INVALID_AUTHORIZATION);
    }
  }
}
