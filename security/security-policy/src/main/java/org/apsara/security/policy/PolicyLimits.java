package org.apsara.security.policy;

/**
 * Limits on policy documents. The parser rejects a document that exceeds any of them with an
 * {@link InvalidPolicyException} naming the limit.
 */
public final class PolicyLimits {
  private PolicyLimits() {}

  /**
   * Longest policy document, in characters of its JSON text as submitted (RAM's limit for one
   * custom policy). Checked before the text is parsed, so it also bounds parsing work.
   */
  public static final int MAX_DOCUMENT_CHARS = 6144;

  /** Statements in one document. */
  public static final int MAX_STATEMENTS_PER_DOCUMENT = 100;

  /**
   * Entries in one list: an {@code Action} or {@code Resource} list, or the values of one
   * condition key.
   */
  public static final int MAX_ENTRIES_PER_LIST = 100;

  /** Condition keys in one statement, counted over all of its condition operators. */
  public static final int MAX_CONDITIONS_PER_STATEMENT = 20;

  /** Longest policy name (RAM's limit). */
  public static final int MAX_POLICY_NAME_CHARS = 128;
}
