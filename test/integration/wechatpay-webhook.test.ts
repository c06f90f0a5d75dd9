import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedPackage, sql } from "../support/worker/harness.ts";
import { inboxCount, ledgerOf, orderStatus } from "../support/worker/stripe.ts";
import {
  createWechatOrder,
  deliverWechat,
  only,
  setWechatMode,
  wechatScenario,
} from "../support/worker/wechat.ts";

const newUser = () => crypto.randomUUID();

async function paidNotification(orderId: string, extra: Record<string, unknown> = {}) {
  return only(await wechatScenario("pay", { outTradeNo: orderId, amountMinor: 990, ...extra }));
}

beforeAll(seedPackage);
afterAll(() => setWechatMode("public_key"));

describe("WeChat Pay notifications credit exactly once", () => {
  it.each(["public_key", "certificate", "mixed"] as const)(
    "verifies and credits in %s mode",
    async (mode) => {
      await setWechatMode(mode);
      const user = newUser();
      const orderId = await createWechatOrder(user);
      const delivery = await paidNotification(orderId);
      const first = await deliverWechat(delivery);
      expect(first.status).toBe(204);
      expect((await deliverWechat(delivery)).status).toBe(204);
      expect(await orderStatus(orderId)).toBe("fulfilled");
      expect(await ledgerOf(user)).toEqual({ balance: 100, rows: [{ kind: "purchase", credits: 100 }] });
    },
  );

  it("claws back a successful refund once and raises an incident for an abnormal one", async () => {
    await setWechatMode("public_key");
    const user = newUser();
    const orderId = await createWechatOrder(user);
    await deliverWechat(await paidNotification(orderId));
    const refund = only(await wechatScenario("refund", { outTradeNo: orderId, amountMinor: 495 }));
    expect((await deliverWechat(refund)).status).toBe(204);
    expect((await deliverWechat(refund)).status).toBe(204);
    expect(await ledgerOf(user)).toMatchObject({ balance: 50 });
    const abnormal = only(
      await wechatScenario("refund", { outTradeNo: orderId, amountMinor: 100, status: "ABNORMAL" }),
    );
    expect((await deliverWechat(abnormal)).status).toBe(204);
    const incidents = await sql<{ kind: string }>(
      "select kind from payguard.incidents where detail->>'order_id' = $1",
      [orderId],
    );
    expect(incidents.map((i) => i.kind)).toContain("refund_abnormal");
    expect(await ledgerOf(user)).toMatchObject({ balance: 50 });
  });
});

// While the incident write fails, the notification is still answered 204 (its incident is in the outbox)
// and the cron drain stores it later: test/integration/incident-outbox.test.ts (serial: it runs the cron).
describe("WeChat Pay: a notification that needs a human is acknowledged with its incident stored", () => {
  it("answers 204 for a wrong amount with the needs_review incident delivered at once, and its redelivery 204", async () => {
    await setWechatMode("public_key");
    const user = newUser();
    const orderId = await createWechatOrder(user);
    const wrongAmount = await paidNotification(orderId, { amountMinor: 1 });
    expect((await deliverWechat(wrongAmount)).status).toBe(204);
    expect((await deliverWechat(wrongAmount)).status).toBe(204);
    expect(await orderStatus(orderId)).toBe("needs_review");
    const incidents = await sql("select 1 from payguard.incidents where key = $1 and status = 'open'", [
      `needs_review:${orderId}`,
    ]);
    expect(incidents).toHaveLength(1);
    const outbox = await sql("select 1 from payguard.incident_outbox where key = $1", [
      `needs_review:${orderId}`,
    ]);
    expect(outbox).toEqual([]);
    expect((await ledgerOf(user)).balance).toBe(0);
  });
});

describe("WeChat Pay notifications: bad input gets the documented answer and writes nothing", () => {
  async function expectRejected(headers: Record<string, string>, body: string, status: number) {
    const before = await inboxCount();
    const response = await deliverWechat({ url: "", headers, body });
    expect(response.status).toBe(status);
    expect(await response.json()).toEqual({ code: "FAIL", message: expect.any(String) });
    expect(await inboxCount()).toBe(before);
  }

  async function fresh() {
    await setWechatMode("public_key");
    const user = newUser();
    const orderId = await createWechatOrder(user);
    return { user, orderId, delivery: await paidNotification(orderId) };
  }

  it("rejects a tampered body", async () => {
    const { delivery, orderId, user } = await fresh();
    await expectRejected(delivery.headers, delivery.body.replace('"id":"', '"id":"x'), 401);
    expect(await orderStatus(orderId)).toBe("pending");
    expect((await ledgerOf(user)).balance).toBe(0);
  });

  it("rejects a tampered signature (as from a wrong key)", async () => {
    const { delivery } = await fresh();
    const signature =
      delivery.headers["wechatpay-signature"] ?? delivery.headers["Wechatpay-Signature"] ?? "";
    const forged = `${signature.slice(0, 10)}${signature.slice(10, 20).split("").reverse().join("")}${signature.slice(20)}`;
    await expectRejected({ ...lower(delivery.headers), "wechatpay-signature": forged }, delivery.body, 401);
  });

  it("rejects a stale timestamp", async () => {
    const { delivery } = await fresh();
    const stale = String(Math.floor(Date.now() / 1000) - 301);
    await expectRejected({ ...lower(delivery.headers), "wechatpay-timestamp": stale }, delivery.body, 401);
  });

  it("rejects an unknown serial and another signature type", async () => {
    const { delivery } = await fresh();
    await expectRejected(
      { ...lower(delivery.headers), "wechatpay-serial": "PUB_KEY_ID_UNKNOWN" },
      delivery.body,
      401,
    );
    await expectRejected(
      { ...lower(delivery.headers), "wechatpay-signature-type": "WECHATPAY2-SM2-WITH-SM3" },
      delivery.body,
      401,
    );
  });

  it("rejects the SIGNTEST probe", async () => {
    const probe = only(await wechatScenario("probe", {}));
    await expectRejected(lower(probe.headers), probe.body, 401);
  });

  it("rejects a notification whose ciphertext was tampered with", async () => {
    const { delivery } = await fresh();
    const body = JSON.parse(delivery.body) as { resource: { ciphertext: string } };
    const ct = body.resource.ciphertext;
    body.resource.ciphertext = `${ct.slice(0, 8)}${ct[8] === "A" ? "B" : "A"}${ct.slice(9)}`;
    // Re-serialising changes the signed bytes too: the signature check catches it first.
    await expectRejected(lower(delivery.headers), JSON.stringify(body), 401);
  });

  async function unpaidOrder() {
    const user = newUser();
    return { user, orderId: await createWechatOrder(user) };
  }

  it("marks an order paid with the wrong amount for review and answers 204", async () => {
    const { orderId, user } = await unpaidOrder();
    const delivery = await paidNotification(orderId, { amountMinor: 1 });
    expect((await deliverWechat(delivery)).status).toBe(204);
    expect(await orderStatus(orderId)).toBe("needs_review");
    expect((await ledgerOf(user)).balance).toBe(0);
  });

  it("marks an order reported for another merchant for review and credits nothing", async () => {
    const { orderId, user } = await unpaidOrder();
    const delivery = await paidNotification(orderId, { mchid: "1900000999" });
    expect((await deliverWechat(delivery)).status).toBe(204);
    expect(await orderStatus(orderId)).toBe("needs_review");
    expect((await ledgerOf(user)).balance).toBe(0);
  });
});

function lower(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}
