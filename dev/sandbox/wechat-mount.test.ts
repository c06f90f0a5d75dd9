// The WeChat Pay simulator as mounted in the sandbox: `/_control/wechat/*` steps hand back (or send)
// notifications that verify with the published WeChat Pay public key and decrypt with the APIv3 key,
// `/v3/` requests reach the simulator, and API faults answer in WeChat's error shape.
import { createDecipheriv, createSign, createVerify, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Sandbox, startSandbox } from "./index.ts";
import { type Receiver, startReceiver } from "./testing/receiver.ts";

interface Delivery {
  url: string;
  headers: Record<string, string>;
  body: string;
}

let sandbox: Sandbox;
let receiver: Receiver;

async function control(path: string, body?: unknown) {
  const response = await fetch(`${sandbox.url}/_control/${path}`, {
    method: body === undefined ? "GET" : "POST",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** What a merchant does with a notification: verify `ts\nnonce\nbody\n`, then decrypt the resource. */
function openNotification(delivery: Delivery) {
  const h = delivery.headers;
  const message = `${h["wechatpay-timestamp"]}\n${h["wechatpay-nonce"]}\n${delivery.body}\n`;
  const verified = createVerify("RSA-SHA256")
    .update(message)
    .verify(sandbox.wechat.publicKeyPem, h["wechatpay-signature"] ?? "", "base64");
  const envelope = JSON.parse(delivery.body) as {
    id: string;
    event_type: string;
    resource: { ciphertext: string; nonce: string; associated_data: string };
  };
  const raw = Buffer.from(envelope.resource.ciphertext, "base64");
  const decipher = createDecipheriv(
    "aes-256-gcm",
    Buffer.from(sandbox.wechat.apiV3Key, "utf8"),
    Buffer.from(envelope.resource.nonce, "utf8"),
  );
  decipher.setAAD(Buffer.from(envelope.resource.associated_data, "utf8"));
  decipher.setAuthTag(raw.subarray(raw.length - 16));
  const plain = Buffer.concat([decipher.update(raw.subarray(0, raw.length - 16)), decipher.final()]).toString(
    "utf8",
  );
  return { verified, envelope, resource: JSON.parse(plain) as Record<string, unknown> };
}

/** A merchant-signed API request, as payguard's WeChat client sends it. */
function merchantGet(pathWithQuery: string) {
  const { mchid, merchantSerial, merchantPrivateKeyPem, publicKeyId } = sandbox.wechat;
  const timestamp = Math.floor(Date.now() / 1000);
  const nonce = randomBytes(16).toString("hex");
  const signature = createSign("RSA-SHA256")
    .update(`GET\n${pathWithQuery}\n${timestamp}\n${nonce}\n\n`)
    .sign(merchantPrivateKeyPem, "base64");
  const authorization = `WECHATPAY2-SHA256-RSA2048 mchid="${mchid}",nonce_str="${nonce}",timestamp="${timestamp}",serial_no="${merchantSerial}",signature="${signature}"`;
  return fetch(`${sandbox.url}${pathWithQuery}`, {
    headers: {
      authorization,
      accept: "application/json",
      "user-agent": "payguard-test",
      "wechatpay-serial": publicKeyId,
    },
  });
}

beforeAll(async () => {
  receiver = await startReceiver();
  sandbox = await startSandbox({ seed: 61, wechatNotifyUrl: receiver.url });
});
afterAll(async () => {
  await sandbox.close();
  await receiver.close();
});

describe("WeChat Pay through the sandbox", () => {
  it("hands back a payment notification that verifies and decrypts to the transaction", async () => {
    const answer = await control("wechat/pay", { orderId: "WX_ORDER_1", amountMinor: 990, deliver: false });
    expect(answer.status).toBe(200);
    const deliveries = answer.body.deliveries as Delivery[];
    expect(deliveries).toHaveLength(1);
    const opened = openNotification(deliveries[0] as Delivery);
    expect(opened.verified).toBe(true);
    expect(opened.envelope.id).toBe((answer.body.eventIds as string[])[0]);
    expect(opened.envelope.event_type).toBe("TRANSACTION.SUCCESS");
    expect(opened.resource).toMatchObject({
      out_trade_no: "WX_ORDER_1",
      transaction_id: answer.body.transactionId,
      trade_state: "SUCCESS",
      mchid: sandbox.wechat.mchid,
      amount: { total: 990 },
    });
  });

  it("sends notifications to the notify URL when one is configured", async () => {
    const answer = await control("wechat/pay", { orderId: "WX_ORDER_2", amountMinor: 100 });
    expect(answer.body.deliveries).toEqual([]);
    const [received] = await receiver.waitFor(1);
    const opened = openNotification({
      url: receiver.url,
      headers: received?.headers ?? {},
      body: received?.body ?? "",
    });
    expect([opened.verified, opened.resource.out_trade_no]).toEqual([true, "WX_ORDER_2"]);
  });

  it("answers a signed /v3/ query with the paid transaction", async () => {
    await control("wechat/pay", { orderId: "WX_ORDER_3", amountMinor: 250, deliver: false });
    const response = await merchantGet(
      `/v3/pay/transactions/out-trade-no/WX_ORDER_3?mchid=${sandbox.wechat.mchid}`,
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ out_trade_no: "WX_ORDER_3", trade_state: "SUCCESS" });
  });

  it("emits REFUND.SUCCESS, sends a probe that never verifies, and refuses a refund of an unpaid order", async () => {
    await control("wechat/pay", { orderId: "WX_ORDER_4", amountMinor: 500, deliver: false });
    const refund = await control("wechat/refund", {
      orderId: "WX_ORDER_4",
      amountMinor: 200,
      deliver: false,
    });
    const refunded = openNotification((refund.body.deliveries as Delivery[])[0] as Delivery);
    expect([refunded.envelope.event_type, refunded.resource.refund_id]).toEqual([
      "REFUND.SUCCESS",
      refund.body.refundId,
    ]);
    const probe = await control("wechat/probe", { deliver: false });
    const probeDelivery = (probe.body.deliveries as Delivery[])[0] as Delivery;
    expect(probeDelivery.headers["wechatpay-signature"]?.startsWith("WECHATPAY/SIGNTEST/")).toBe(true);
    expect(openNotification(probeDelivery).verified).toBe(false);
    const refused = await control("wechat/refund", { orderId: "WX_NEVER_PAID", amountMinor: 1 });
    expect(refused.status).toBe(409);
  });

  it("signs with a platform certificate after switching mode", async () => {
    expect((await control("wechat/mode", { mode: "certificate" })).body).toEqual({ mode: "certificate" });
    const answer = await control("wechat/pay", { orderId: "WX_ORDER_5", amountMinor: 100, deliver: false });
    const delivery = (answer.body.deliveries as Delivery[])[0] as Delivery;
    expect(delivery.headers["wechatpay-serial"]?.startsWith("PUB_KEY_ID_")).toBe(false);
    await control("wechat/mode", { mode: "public_key" });
    expect((await control("wechat/mode", { mode: "sideways" })).status).toBe(400);
  });

  it("lists orders, and fails /v3/ calls in WeChat's error shape under an API fault", async () => {
    await control("wechat/pay", { orderId: "WX_ORDER_6", amountMinor: 100, deliver: false });
    const { orders } = (await control("wechat/orders")).body as { orders: Array<{ outTradeNo: string }> };
    expect(orders.map((order) => order.outTradeNo)).toContain("WX_ORDER_6");
    await control("faults", { api: [{ kind: "5xx", count: 1, pathPrefix: "/v3/" }] });
    const failed = await merchantGet(
      `/v3/pay/transactions/out-trade-no/WX_ORDER_6?mchid=${sandbox.wechat.mchid}`,
    );
    expect([failed.status, await failed.json()]).toEqual([
      500,
      expect.objectContaining({ code: "SYSTEM_ERROR" }),
    ]);
  });
});
