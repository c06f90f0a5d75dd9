// Delivery faults on WeChat Pay refund notifications, as the chaos run asks for them over HTTP: a rule
// matching REFUND.SUCCESS drops or duplicates the next N of them, or a seeded share of them, while payment
// notifications keep only the rates; one seed always picks the same refunds.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type Sandbox, startSandbox } from "../index.ts";
import { type Receiver, startReceiver } from "../testing/receiver.ts";

let sandbox: Sandbox;
let receiver: Receiver;

async function control(path: string, body?: unknown) {
  const response = await fetch(`${sandbox.url}/_control/${path}`, {
    method: body === undefined ? "GET" : "POST",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

interface Attempt {
  eventId: string;
  eventType: string | null;
  fault: string | null;
  status: number | string;
}

const REFUND_NOTIFICATION = { provider: "wechatpay", eventType: "REFUND.SUCCESS" };
const ORDERS = 40;

const deliveryLog = async () => (await control("deliveries?wait=1")).body.deliveries as Attempt[];

/** Pays and refunds `count` orders; answers the refund notifications' event ids in order. */
async function payAndRefund(prefix: string, count: number): Promise<string[]> {
  const refundEvents: string[] = [];
  for (let index = 0; index < count; index += 1) {
    const orderId = `${prefix}_${index}`;
    await control("wechat/pay", { orderId, amountMinor: 990 });
    const refund = await control("wechat/refund", { orderId, amountMinor: 990 });
    refundEvents.push(...(refund.body.eventIds as string[]));
  }
  return refundEvents;
}

/** Per refund notification, the fault it met and how many times it was sent. */
async function refundFates(eventIds: string[]) {
  const log = await deliveryLog();
  return eventIds.map((eventId) => {
    const attempts = log.filter((entry) => entry.eventId === eventId);
    return {
      fault: attempts[0]?.fault ?? null,
      sent: attempts.filter((entry) => entry.status !== "dropped").length,
    };
  });
}

beforeAll(async () => {
  receiver = await startReceiver();
  sandbox = await startSandbox({ seed: 43, wechatNotifyUrl: receiver.url });
});
afterAll(async () => {
  await sandbox.close();
  await receiver.close();
});
beforeEach(async () => {
  await control("reset", {});
  receiver.received.length = 0;
});

describe("WeChat refund notification faults", () => {
  it("drops the next refund notification and duplicates the one after, leaving payments alone", async () => {
    const faults = await control("faults", {
      delivery: {
        rules: [
          { action: "drop", match: REFUND_NOTIFICATION, count: 1 },
          { action: "duplicate", copies: 2, match: REFUND_NOTIFICATION, count: 1 },
        ],
      },
    });
    expect(faults.status).toBe(200);
    const refunds = await payAndRefund("WX_RF_RULE", 3);
    expect(await refundFates(refunds)).toEqual([
      { fault: "drop", sent: 0 },
      { fault: "duplicate", sent: 3 },
      { fault: null, sent: 1 },
    ]);
    const payments = (await deliveryLog()).filter((entry) => entry.eventType === "TRANSACTION.SUCCESS");
    expect(payments.map((entry) => [entry.fault, entry.status])).toEqual(Array(3).fill([null, 200]));
  });

  it("drops and duplicates a seeded share of refund notifications, the same ones for the same seed", async () => {
    const delivery = {
      rules: [
        { action: "drop", match: REFUND_NOTIFICATION, rate: 0.3 },
        { action: "duplicate", match: REFUND_NOTIFICATION, rate: 0.3 },
      ],
    };
    // WeChat's records outlive a reset: each run pays orders of its own.
    const run = async (prefix: string) => {
      await control("reset", { seed: 43 });
      await control("faults", { delivery });
      return refundFates(await payAndRefund(prefix, ORDERS));
    };
    const fates = await run("WX_RF_RATE_A");
    const faultsMet = fates.map((fate) => fate.fault);
    expect(faultsMet).toContain("drop");
    expect(faultsMet).toContain("duplicate");
    expect(faultsMet).toContain(null);
    for (const fate of fates) expect(fate.sent).toBe({ drop: 0, duplicate: 2 }[fate.fault ?? ""] ?? 1);
    const payments = (await deliveryLog()).filter((entry) => entry.eventType === "TRANSACTION.SUCCESS");
    expect(payments.every((entry) => entry.fault === null)).toBe(true);
    expect((await run("WX_RF_RATE_B")).map((fate) => fate.fault)).toEqual(faultsMet);
  });

  it("refuses a rule rate that is not a non-negative number", async () => {
    const refused = await control("faults", {
      delivery: { rules: [{ action: "drop", match: REFUND_NOTIFICATION, rate: "half" }] },
    });
    expect(refused).toEqual({
      status: 400,
      body: { error: "delivery.rules[0].rate must be a non-negative number" },
    });
  });
});
