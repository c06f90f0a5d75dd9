/**
 * The order pages' pure parts: what a provider answer records as the check's outcome, the error text kept
 * (short, code first, no secret), the "why not credited" sentence in both languages, the timeline's one
 * line, the search fallback's reference kinds and the date filters' days in the operator's zone.
 */
import { describe, expect, it } from "vitest";
import { WORDS } from "../../../src/admin/ui/i18n.ts";
import type { PageContext } from "../../../src/admin/ui/layout.tsx";
import { zonedMidnightMs, zonedRange } from "../../../src/admin/ui/orders/dates.ts";
import { repairDryRunHref, searchRefKind } from "../../../src/admin/ui/orders/search-ref.ts";
import { timelineSummary } from "../../../src/admin/ui/orders/timeline.tsx";
import { whySentence } from "../../../src/admin/ui/orders/why.tsx";
import { ORDER_WORDS } from "../../../src/admin/ui/orders/words.ts";
import { checkErrorText, checkOutcomeOf } from "../../../src/ledger/check-outcome.ts";
import type { PaymentFact } from "../../../src/ledger/types.ts";

const NOW = Date.parse("2026-12-06T12:00:00Z");
const minutes = (n: number) => new Date(NOW + n * 60_000).toISOString();

const ctx = (lang: "en" | "zh"): PageContext => ({
  t: WORDS[lang],
  lang,
  actor: "alice",
  csrf: "",
  path: "/admin/orders/x",
  flash: null,
  timeZone: "Asia/Shanghai",
  nowMs: NOW,
});

describe("check outcomes", () => {
  const pending = (providerState?: string): PaymentFact => ({
    kind: "pending",
    provider: "wechatpay",
    orderId: "ord_1",
    providerState,
  });

  it("names what each provider answer means", () => {
    expect(checkOutcomeOf(pending())).toBe("unpaid");
    expect(checkOutcomeOf(pending("NOTPAY"))).toBe("unpaid");
    expect(checkOutcomeOf(pending("USERPAYING"))).toBe("confirming");
    expect(checkOutcomeOf(pending("ORDER_NOT_EXIST"))).toBe("not_found");
    expect(checkOutcomeOf({ kind: "expired", provider: "stripe", orderId: "ord_1" })).toBe("closed");
    expect(checkOutcomeOf({ kind: "mismatch", provider: "stripe", orderId: "ord_1", reason: "r" })).toBe(
      "mismatch",
    );
  });

  it("keeps the code first, the status, a short message and never a key", () => {
    expect(checkErrorText({ code: "SYSTEM_ERROR", message: "System error", status: 500 })).toBe(
      "SYSTEM_ERROR (HTTP 500): System error",
    );
    expect(checkErrorText({ code: "RATE_LIMITED", message: "RATE_LIMITED" })).toBe("RATE_LIMITED");
    const leaky = checkErrorText({
      code: "auth",
      message: `Invalid API Key provided: sk_live_${"a".repeat(30)}`,
    });
    expect(leaky).not.toMatch(/sk_live/);
    expect(checkErrorText({ code: "X", message: "y".repeat(500) })).toHaveLength(200);
  });
});

describe("why not credited", () => {
  const order = {
    id: "ord_1",
    status: "pending",
    provider: "stripe",
    currency: "USD",
    check_attempts: 4,
    last_check_at: minutes(-3),
    last_check_outcome: "error",
    last_check_error: "SYSTEM_ERROR (HTTP 500): System error",
    next_check_at: minutes(2),
    expires_at: minutes(25),
    payments: [{ payment_ref: "pi_1", role: "primary", paid_at: minutes(-12) }],
  };

  it("reads as one sentence in English", () => {
    expect(whySentence(order, ctx("en"))).toBe(
      "Paid at Stripe 12 min ago, not credited: the last check 3 min ago failed (SYSTEM_ERROR (HTTP 500)); " +
        "next check in 2 min; 4 attempts; expires in 25 min.",
    );
  });

  it("reads as one sentence in Chinese", () => {
    expect(whySentence(order, ctx("zh"))).toBe(
      "Stripe 已于 12 分钟前收款，尚未到账：最近一次查单（3 分钟前）失败（SYSTEM_ERROR (HTTP 500)）；" +
        "下次查单：2 分钟后；已查 4 次；25 分钟后过期。",
    );
  });

  it("says when nothing was checked yet, and why an order in review waits", () => {
    const review = {
      ...order,
      status: "needs_review",
      review_reason: "amount mismatch",
      last_check_at: null,
      last_check_outcome: null,
      payments: [],
    };
    const sentence = whySentence(review, ctx("en"));
    expect(sentence).toMatch(/^No payment seen at Stripe yet, not credited: held for review: /);
    expect(sentence).toContain("no provider check yet");
  });

  it("has every word in both languages", () => {
    expect(Object.keys(ORDER_WORDS.zh).sort()).toEqual(Object.keys(ORDER_WORDS.en).sort());
    expect(Object.keys(ORDER_WORDS.zh.outcome).sort()).toEqual(Object.keys(ORDER_WORDS.en.outcome).sort());
    expect(Object.keys(ORDER_WORDS.zh.status).sort()).toEqual(Object.keys(ORDER_WORDS.en.status).sort());
  });
});

describe("timeline summary", () => {
  it("puts the amount and references first and stays one short line", () => {
    const line = timelineSummary(
      { amount_minor: 1999, currency: "USD", payment_ref: "pi_1", reason: "customer wrote in" },
      "USD",
      ORDER_WORDS.en.field,
    );
    expect(line).toBe("19.99 USD · pi_1 · reason: customer wrote in");
    const long = timelineSummary({ reason: "x".repeat(400) }, "USD", ORDER_WORDS.en.field);
    expect(long.length).toBeLessThanOrEqual(160);
  });
});

describe("search fallback", () => {
  it("knows the references a repair can start from", () => {
    expect(searchRefKind("pi_3Abc123456")).toBe("stripe_payment_intent");
    expect(searchRefKind("cs_test_a1B2c3D4")).toBe("stripe_session");
    expect(searchRefKind("ch_3Abc123456")).toBe("stripe_charge");
    expect(searchRefKind("in_1QbZ4nLkdIwHu7ix")).toBe("stripe_invoice");
    expect(searchRefKind("sub_1QbZ4nLkdIwHu7ix")).toBe("stripe_subscription");
    expect(searchRefKind("4200001234202612061234567890")).toBe("wechat_transaction");
    expect(searchRefKind("ord_0123456789abcdef")).toBe("wechat_out_trade_no");
    expect(searchRefKind("no such thing")).toBeNull();
    expect(searchRefKind("0b3c6f0e-8a52-4d52-9f0e-6a6b1f3c9d11")).toBeNull();
    expect(repairDryRunHref("pi_1")).toBe("/admin/runbook?repair_ref=pi_1#repair-form");
  });
});

describe("date filters", () => {
  it("take days in the operator's zone, `to` inclusive", () => {
    expect(new Date(zonedMidnightMs("2026-12-06", "Asia/Shanghai") ?? 0).toISOString()).toBe(
      "2026-12-05T16:00:00.000Z",
    );
    expect(zonedRange({ from: "2026-12-06", to: "2026-12-06" }, "Asia/Shanghai")).toEqual({
      from: "2026-12-05T16:00:00.000Z",
      to: "2026-12-06T16:00:00.000Z",
    });
    // A day that starts in summer time and ends in winter time (New York, 1 Nov 2026).
    expect(zonedRange({ from: "2026-11-01", to: "2026-11-01" }, "America/New_York")).toEqual({
      from: "2026-11-01T04:00:00.000Z",
      to: "2026-11-02T05:00:00.000Z",
    });
    expect(zonedRange({ from: "2026-12-06T00:00:00Z" }, "Asia/Shanghai")).toEqual({
      from: "2026-12-06T00:00:00Z",
      to: undefined,
    });
  });
});
