// WeChat Pay notifications as the simulator sends them: signed like WeChat signs them (per key mode),
// resources encrypted with AES-256-GCM under the APIv3 key, probes recognisable, one seed one output.
import { beforeAll, describe, expect, it } from "vitest";
import type { QueuedDelivery } from "../http.ts";
import { mulberry32 } from "../rng.ts";
import {
  createWechatSandbox,
  generateWechatKeys,
  type WechatCredentials,
  type WechatMode,
  type WechatPlatformKeys,
  WechatScenarioError,
} from "./index.ts";
import { decryptResource, type EncryptedResource, verifyWechatSignature } from "./merchant-kit.ts";
import { simulatorForTest, TEST_NOTIFY_URL } from "./testing.ts";

let credentials: WechatCredentials;
let platformKeys: WechatPlatformKeys;
const START_MS = Date.parse("2024-05-20T21:15:30+08:00");

beforeAll(async () => {
  ({ credentials, platformKeys } = await generateWechatKeys());
});

const setup = (mode: WechatMode = "public_key", seed = 1) =>
  simulatorForTest({ credentials, platformKeys }, { mode, seed, startMs: START_MS });

interface Envelope {
  id: string;
  create_time: string;
  resource_type: string;
  event_type: string;
  summary: string;
  resource: EncryptedResource & { original_type: string; algorithm: string };
}

function open(delivery: QueuedDelivery | undefined): {
  envelope: Envelope;
  resource: Record<string, unknown>;
} {
  if (!delivery) throw new Error("no delivery");
  expect(verifyWechatSignature(credentials, delivery.headers, delivery.body)).toBe(true);
  const envelope = JSON.parse(delivery.body) as Envelope;
  return { envelope, resource: decryptResource(credentials.apiV3Key, envelope.resource) };
}

describe("payment notifications", () => {
  it("sends TRANSACTION.SUCCESS signed with the WeChat Pay public key, decrypting to the transaction", () => {
    const { sandbox, deliveries } = setup("public_key");
    const { transactionId, eventId } = sandbox.pay({
      outTradeNo: "order_n_1",
      amountMinor: 990,
      attach: "user=42",
    });
    const [delivery] = deliveries;
    expect(delivery).toMatchObject({ provider: "wechatpay", eventId, url: TEST_NOTIFY_URL });
    expect(delivery?.headers).toMatchObject({
      "wechatpay-serial": credentials.publicKeyId,
      "wechatpay-signature-type": "WECHATPAY2-SHA256-RSA2048",
      "wechatpay-timestamp": String(START_MS / 1000),
    });
    const { envelope, resource } = open(delivery);
    expect(envelope).toMatchObject({
      id: eventId,
      create_time: "2024-05-20T21:15:30+08:00",
      resource_type: "encrypt-resource",
      event_type: "TRANSACTION.SUCCESS",
      summary: "支付成功",
      resource: {
        original_type: "transaction",
        algorithm: "AEAD_AES_256_GCM",
        associated_data: "transaction",
      },
    });
    expect(envelope.resource.nonce).toMatch(/^[0-9A-Za-z]{12}$/);
    expect(resource).toMatchObject({
      mchid: credentials.mchid,
      appid: credentials.appid,
      out_trade_no: "order_n_1",
      transaction_id: transactionId,
      trade_type: "NATIVE",
      trade_state: "SUCCESS",
      trade_state_desc: "支付成功",
      attach: "user=42",
      success_time: "2024-05-20T21:15:30+08:00",
      amount: { total: 990, payer_total: 990, currency: "CNY", payer_currency: "CNY" },
    });
    expect(transactionId).toMatch(/^42000\d{5}20240520\d{10}$/);
    expect((resource.payer as { openid: string }).openid).toMatch(/^o/);
  });

  it("signs with the platform certificate in certificate mode and uses both keys in mixed mode", () => {
    const certificate = setup("certificate");
    certificate.sandbox.pay({ outTradeNo: "order_n_2", amountMinor: 100 });
    expect(certificate.deliveries[0]?.headers["wechatpay-serial"]).toBe(platformKeys.platformCertSerial);
    open(certificate.deliveries[0]);

    const mixed = setup("mixed");
    for (let i = 0; i < 16; i += 1) mixed.sandbox.pay({ outTradeNo: `order_mix_${i}`, amountMinor: 100 });
    for (const delivery of mixed.deliveries) open(delivery);
    const serials = new Set(mixed.deliveries.map((delivery) => delivery.headers["wechatpay-serial"]));
    expect(serials).toEqual(new Set([credentials.publicKeyId, platformKeys.platformCertSerial]));
  });

  it("lets a customer pay another amount, or a payment arrive for another merchant", () => {
    const { sandbox, deliveries } = setup();
    sandbox.pay({ outTradeNo: "order_n_3", amountMinor: 990 });
    sandbox.refund({ outTradeNo: "order_n_3", amountMinor: 990 });
    sandbox.pay({
      outTradeNo: "order_n_4",
      amountMinor: 1,
      mchid: "1900000999",
      appid: "wx0000000000000000",
    });
    expect(open(deliveries[2]).resource).toMatchObject({
      mchid: "1900000999",
      appid: "wx0000000000000000",
      amount: { total: 1 },
    });
    expect(sandbox.orders()).toEqual([
      expect.objectContaining({ outTradeNo: "order_n_3", tradeState: "REFUND", amountMinor: 990 }),
      expect.objectContaining({ outTradeNo: "order_n_4", tradeState: "SUCCESS", amountMinor: 1 }),
    ]);
  });

  it("refuses scenario steps WeChat could not take", () => {
    const { sandbox, deliveries } = setup();
    expect(() => sandbox.pay({ outTradeNo: "order_none" })).toThrow(WechatScenarioError);
    expect(() => sandbox.refund({ outTradeNo: "order_none", amountMinor: 1 })).toThrow(WechatScenarioError);
    sandbox.pay({ outTradeNo: "order_once", amountMinor: 5 });
    expect(() => sandbox.pay({ outTradeNo: "order_once" })).toThrow(/already paid/);
    expect(() => sandbox.abandon("order_once")).toThrow(WechatScenarioError);
    expect(deliveries).toHaveLength(1);
  });
});

describe("refund notifications", () => {
  it.each([
    ["SUCCESS", "退款成功", "REFUND"],
    ["ABNORMAL", "退款异常", "SUCCESS"],
    ["CLOSED", "退款关闭", "SUCCESS"],
  ] as const)("REFUND.%s decrypts to the refund object", (status, summary, tradeState) => {
    const { sandbox, deliveries } = setup();
    const { transactionId } = sandbox.pay({ outTradeNo: "order_r_1", amountMinor: 990 });
    const { refundId, eventId } = sandbox.refund({ outTradeNo: "order_r_1", amountMinor: 300, status });
    const { envelope, resource } = open(deliveries[1]);
    expect(envelope).toMatchObject({ id: eventId, event_type: `REFUND.${status}`, summary });
    expect(envelope.resource).toMatchObject({ original_type: "refund", associated_data: "refund" });
    expect(resource).toMatchObject({
      mchid: credentials.mchid,
      transaction_id: transactionId,
      out_trade_no: "order_r_1",
      refund_id: refundId,
      refund_status: status,
      amount: { total: 990, refund: 300, payer_total: 990, payer_refund: 300 },
    });
    expect(resource.out_refund_no).toEqual(expect.any(String));
    expect("success_time" in resource).toBe(status === "SUCCESS");
    expect(sandbox.orders()[0]?.tradeState).toBe(tradeState);
  });
});

describe("probes, retries and replay", () => {
  it("sends a probe whose signature starts WECHATPAY/SIGNTEST/ and never verifies", () => {
    const { sandbox, deliveries } = setup();
    const { eventId } = sandbox.probe();
    const probe = deliveries[0] as QueuedDelivery;
    expect(probe.eventId).toBe(eventId);
    expect(probe.headers["wechatpay-signature"]).toMatch(/^WECHATPAY\/SIGNTEST\//);
    expect(verifyWechatSignature(credentials, probe.headers, probe.body)).toBe(false);
    expect(JSON.parse(probe.body)).toMatchObject({ id: eventId, event_type: "TRANSACTION.SUCCESS" });
    expect(sandbox.orders()).toEqual([]);
  });

  it("signs a retry afresh: new timestamp and nonce, still valid", () => {
    const { sandbox, deliveries } = setup("mixed");
    sandbox.pay({ outTradeNo: "order_retry", amountMinor: 990 });
    const delivery = deliveries[0] as QueuedDelivery;
    const retryAtMs = START_MS + 3 * 60 * 60 * 1000;
    const headers = delivery.resign?.(retryAtMs) ?? {};
    expect(headers["wechatpay-timestamp"]).toBe(String(retryAtMs / 1000));
    expect(headers["wechatpay-nonce"]).not.toBe(delivery.headers["wechatpay-nonce"]);
    expect(headers["wechatpay-serial"]).toBe(delivery.headers["wechatpay-serial"]);
    expect(verifyWechatSignature(credentials, headers, delivery.body)).toBe(true);
  });

  it("replays the same notifications from the same seed, and different ones from another", () => {
    const scenario = (seed: number) => {
      const { sandbox, deliveries, advance } = setup("mixed", seed);
      sandbox.pay({ outTradeNo: "order_seed_1", amountMinor: 990 });
      advance(60_000);
      sandbox.refund({ outTradeNo: "order_seed_1", amountMinor: 990 });
      sandbox.probe();
      return deliveries.map(({ eventId, url, headers, body }) => ({ eventId, url, headers, body }));
    };
    const first = scenario(42);
    expect(scenario(42)).toEqual(first);
    const other = scenario(43);
    expect(other.map((delivery) => delivery.eventId)).not.toEqual(first.map((delivery) => delivery.eventId));
  });

  it("hands notifications over with an empty url when no notify URL is configured", () => {
    const deliveries: QueuedDelivery[] = [];
    const sandbox = createWechatSandbox({
      mode: "public_key",
      credentials,
      platformKeys,
      clock: () => START_MS,
      random: mulberry32(1),
      deliver: (delivery) => deliveries.push(delivery),
    });
    sandbox.pay({ outTradeNo: "order_no_url", amountMinor: 1 });
    expect(deliveries[0]?.url).toBe("");
  });
});
