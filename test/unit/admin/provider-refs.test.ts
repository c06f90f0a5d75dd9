import { describe, expect, it } from "vitest";
import { refKind } from "../../../src/admin/provider-refs.ts";
import { repairRefsInput } from "../../../src/admin/runbook-schemas.ts";

describe("provider references", () => {
  it("tells Stripe sessions, payment intents, invoices and subscriptions, WeChat transaction ids and out_trade_nos apart", () => {
    expect(refKind("cs_test_a1B2c3")).toBe("stripe_session");
    expect(refKind("pi_3Pq9ZxLkd")).toBe("stripe_payment_intent");
    expect(refKind("in_1QbZ4nLkdIwHu7ix")).toBe("stripe_invoice");
    expect(refKind("sub_1QbZ4nLkdIwHu7ix")).toBe("stripe_subscription");
    expect(refKind("4200001234202611231234567890")).toBe("wechat_transaction");
    expect(refKind("ord_0123456789abcdef01234567")).toBe("wechat_out_trade_no");
    for (const bad of ["", "abc", "cs_test a", "pi_<script>", "x".repeat(65)])
      expect(refKind(bad)).toBeNull();
  });

  it("takes a list in JSON or one text field from a form, at most 100, every one a reference", () => {
    const reason = "ticket 9";
    expect(
      repairRefsInput.parse({
        reason,
        refs: "cs_test_111111\npi_222222, 4200001234202611231234567890 in_333333 sub_444444",
      }),
    ).toMatchObject({
      refs: ["cs_test_111111", "pi_222222", "4200001234202611231234567890", "in_333333", "sub_444444"],
      dryRun: false,
    });
    expect(repairRefsInput.parse({ reason, refs: ["pi_222222"], dryRun: true }).dryRun).toBe(true);
    expect(repairRefsInput.parse({ reason, refs: "pi_222222", dryRun: "true" }).dryRun).toBe(true);
    expect(repairRefsInput.safeParse({ reason, refs: ["pi_222222", "bad ref"] }).success).toBe(false);
    const many = Array.from({ length: 101 }, (_, i) => `pi_${String(i).padStart(6, "0")}`);
    expect(repairRefsInput.safeParse({ reason, refs: many }).success).toBe(false);
  });
});
