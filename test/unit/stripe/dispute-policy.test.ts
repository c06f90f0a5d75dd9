import { describe, expect, it } from "vitest";
import { parseConfig } from "../../../src/env.ts";

const stripeOnly = {
  PUBLIC_BASE_URL: "https://pay.example.com",
  SUPABASE_URL: "https://abc.supabase.co",
  SUPABASE_SECRET_KEY: "sb_secret_0123456789abcdef",
  ADMIN_TOKEN: "a".repeat(32),
  PROVIDERS: "stripe",
  STRIPE_SECRET_KEY: "sk_test_123",
  STRIPE_WEBHOOK_SECRET: "whsec_current",
};

const policyOf = (value?: string) => {
  const result = parseConfig(value === undefined ? stripeOnly : { ...stripeOnly, DISPUTE_POLICY: value });
  return result.ok ? result.config.stripe?.disputePolicy : result.problems;
};

describe("DISPUTE_POLICY", () => {
  it("claws back by default and takes notify when set", () => {
    expect(policyOf()).toBe("claw_back");
    expect(policyOf("")).toBe("claw_back");
    expect(policyOf("claw_back")).toBe("claw_back");
    expect(policyOf("notify")).toBe("notify");
  });

  it("names any other value as a configuration problem", () => {
    expect(policyOf("ignore")).toEqual(['DISPUTE_POLICY must be claw_back or notify, not "ignore"']);
  });
});
