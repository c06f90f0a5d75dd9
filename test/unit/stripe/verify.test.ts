import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { STRIPE_SIGNATURE_TOLERANCE_S, verifyStripeEvent } from "../../../src/providers/stripe/verify.ts";

const NOW_MS = Date.UTC(2026, 10, 22, 12, 0, 0);
const NOW_S = NOW_MS / 1000;
const SECRETS = ["whsec_current", "whsec_previous"];
const cryptoProvider = Stripe.createSubtleCryptoProvider();
const webhooks = new Stripe("sk_test_x").webhooks;
const payload = JSON.stringify({
  id: "evt_1",
  type: "checkout.session.completed",
  created: NOW_S,
  data: { object: {} },
});

const sign = (body: string, secret: string, timestamp = NOW_S) =>
  webhooks.generateTestHeaderStringAsync({ payload: body, secret, timestamp, cryptoProvider });

describe("verifyStripeEvent", () => {
  it("accepts the current and the previous secret", async () => {
    for (const secret of SECRETS) {
      const result = await verifyStripeEvent(payload, await sign(payload, secret), SECRETS, NOW_MS);
      expect(result).toMatchObject({ ok: true, event: { id: "evt_1" } });
    }
  });

  it("accepts a header carrying several v1 signatures when one matches", async () => {
    const header = await sign(payload, "whsec_current");
    const rotated = `${header},v1=${"0".repeat(64)}`;
    expect((await verifyStripeEvent(payload, rotated, SECRETS, NOW_MS)).ok).toBe(true);
  });

  it.each([
    ["a wrong secret", async () => sign(payload, "whsec_other"), payload],
    ["a tampered body", async () => sign(payload, "whsec_current"), payload.replace("evt_1", "evt_2")],
    [
      "a stale timestamp",
      async () => sign(payload, "whsec_current", NOW_S - STRIPE_SIGNATURE_TOLERANCE_S - 1),
      payload,
    ],
    ["garbage", async () => "t=abc,v1=zz", payload],
  ])("rejects %s as a bad signature", async (_name, header, body) => {
    expect(await verifyStripeEvent(body, await header(), SECRETS, NOW_MS)).toEqual({
      ok: false,
      reason: "bad_signature",
    });
  });

  it("rejects a missing header before computing anything", async () => {
    expect(await verifyStripeEvent(payload, null, SECRETS, NOW_MS)).toEqual({
      ok: false,
      reason: "missing_signature",
    });
  });

  it("reports malformed JSON only after the signature matched", async () => {
    const broken = '{"id": "evt_1",';
    expect(await verifyStripeEvent(broken, await sign(broken, "whsec_current"), SECRETS, NOW_MS)).toEqual({
      ok: false,
      reason: "malformed_json",
    });
    expect(await verifyStripeEvent(broken, await sign(broken, "whsec_other"), SECRETS, NOW_MS)).toEqual({
      ok: false,
      reason: "bad_signature",
    });
  });
});
