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
      expect(result).toMatchObject({ ok: true, payload: { id: "evt_1" } });
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

  it("accepts a timestamp ahead of the clock: only an age over the tolerance is refused", async () => {
    const ahead = await sign(payload, "whsec_current", NOW_S + 3600);
    expect((await verifyStripeEvent(payload, ahead, SECRETS, NOW_MS)).ok).toBe(true);
    const edge = await sign(payload, "whsec_current", NOW_S - STRIPE_SIGNATURE_TOLERANCE_S);
    expect((await verifyStripeEvent(payload, edge, SECRETS, NOW_MS)).ok).toBe(true);
  });

  it("reads v1 among other schemes and refuses a header with none", async () => {
    const header = await sign(payload, "whsec_current");
    const [t, v1] = header.split(",");
    const mixed = `${t},v0=${"a".repeat(64)},${v1},v2=whatever`;
    expect((await verifyStripeEvent(payload, mixed, SECRETS, NOW_MS)).ok).toBe(true);
    const v0Only = `${t},${v1?.replace("v1=", "v0=")}`;
    expect(await verifyStripeEvent(payload, v0Only, SECRETS, NOW_MS)).toEqual({
      ok: false,
      reason: "bad_signature",
    });
  });

  it("takes the header exactly as Stripe writes it: whitespace around its items is not trimmed", async () => {
    const header = await sign(payload, "whsec_current");
    expect(await verifyStripeEvent(payload, header.replace(",", ", "), SECRETS, NOW_MS)).toEqual({
      ok: false,
      reason: "bad_signature",
    });
  });

  it("refuses an empty body as unsigned, whatever the header", async () => {
    expect(await verifyStripeEvent("", await sign("", "whsec_current"), SECRETS, NOW_MS)).toEqual({
      ok: false,
      reason: "bad_signature",
    });
  });

  it("hands over a signed thin event (v2.core.event), which stripe-node will not build", async () => {
    const thin = JSON.stringify({
      id: "evt_thin",
      object: "v2.core.event",
      type: "v1.billing.meter.error_report_triggered",
    });
    expect(await verifyStripeEvent(thin, await sign(thin, "whsec_current"), SECRETS, NOW_MS)).toEqual({
      ok: true,
      payload: JSON.parse(thin),
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
