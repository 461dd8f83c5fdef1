package org.apsara.security.policy;

/** What a statement does to the requests it matches. */
public enum Effect {
  ALLOW("Allow"),
  DENY("Deny");

  private final String jsonName;

  Effect(String jsonName) {
    this.jsonName = jsonName;
  }

  /** The spelling in a policy document: {@code Allow} or {@code Deny}. */
  public String jsonName() {
    return jsonName;
  }

  /** Returns the effect spelled exactly {@code jsonName}, or {@code null} if there is none. */
  static Effect fromJsonName(String jsonName) {
    for (Effect effect : values()) {
      if (effect.jsonName.equals(jsonName)) {
        return effect;
      }
    }
    return null;
  }
}
