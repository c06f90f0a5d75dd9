/**
 * WeChat Pay prepay (Native and JSAPI) from payguard's WebCrypto client against the sandbox, and the
 * JSAPI `paySign` checked by an independent node:crypto implementation with the merchant public key.
 */
import { createPublicKey, verify } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Sandbox, startSandbox } from "../../../dev/sandbox/index.ts";
import type { Order } from "../../../src/ledger/types.ts";
import type { WechatClientDeps } from "../../../src/providers/wechatpay/client.ts";
import { signRequestPayment } from "../../../src/providers/wechatpay/jsapi-sign.ts";
import { beijingRfc3339, createPrepay, prepayBody } from "../../../src/providers/wechatpay/prepay.ts";
import { parseWechatConfig, type WechatConfig } from "../../../src/providers/wechatpay/settings.ts";
import { pendingOrder } from "../../support/node/orders.ts";

let sandbox: Sandbox;
let config: WechatConfig;
const deps: WechatClientDeps = { fetch: (input, init) => fetch(input, init), clock: Date.now };
const NOTIFY_URL = "https://payguard.test/webhooks/wechatpay";
const OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o";

const order = (id: string, overrides: Partial<Order> = {}): Order =>
  pendingOrder({
    id,
    packageId: "credits_cny",
    provider: "wechatpay",
    amountMinor: 990,
    currency: "CNY",
    createdAtMs: Date.now(),
    expiresAtMs: Date.now() + 3_600_000,
    ...overrides,
  });

/** node:crypto, written from WeChat's rule, not from payguard's signer. */
function paySignVerifies(params: Record<string, string>, publicKeyPem: string): boolean {
  const message = `${params.appId}\n${params.timeStamp}\n${params.nonceStr}\n${params.package}\n`;
  return verify(
    "RSA-SHA256",
    Buffer.from(message),
    createPublicKey(publicKeyPem),
    Buffer.from(params.paySign ?? "", "base64"),
  );
}

const control = async (path: string, body: unknown) => {
  const response = await fetch(`${sandbox.url}/_control/${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ ...(body as object), deliver: false }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

beforeAll(async () => {
  sandbox = await startSandbox({ seed: 14 });
  const w = sandbox.wechat;
  const parsed = parseWechatConfig({
    WECHATPAY_MCHID: w.mchid,
    WECHATPAY_APPID: w.appid,
    WECHATPAY_MERCHANT_SERIAL: w.merchantSerial,
    WECHATPAY_MERCHANT_PRIVATE_KEY: w.merchantPrivateKeyPem,
    WECHATPAY_APIV3_KEY: w.apiV3Key,
    WECHATPAY_PUBLIC_KEY_ID: w.publicKeyId,
    WECHATPAY_PUBLIC_KEY: w.publicKeyPem,
    WECHATPAY_API_BASE: sandbox.url,
  });
  if (!parsed.ok) throw new Error(parsed.problems.join("; "));
  config = parsed.config;
});
afterAll(() => sandbox.close());

describe("WeChat Pay prepay", () => {
  it("writes time_expire in Beijing time with +08:00 and the order as out_trade_no", () => {
    expect(beijingRfc3339(Date.UTC(2026, 10, 22, 16, 30, 5, 900))).toBe("2026-11-23T00:30:05+08:00");
    const body = prepayBody(config, order("ord_body_1"), "100 credits", NOTIFY_URL, {
      tradeType: "jsapi",
      openid: OPENID,
    });
    expect(body).toMatchObject({
      appid: config.appid,
      mchid: config.mchid,
      out_trade_no: "ord_body_1",
      notify_url: NOTIFY_URL,
      amount: { total: 990, currency: "CNY" },
      payer: { openid: OPENID },
    });
    expect(JSON.parse(body.attach as string)).toEqual({
      user_id: order("x").userId,
      package_id: "credits_cny",
    });
  });

  it("Native: a code_url, and the same one when asked again with the same order", async () => {
    const input = {
      order: order("ord_native_1"),
      description: "100 credits",
      notifyUrl: NOTIFY_URL,
      trade: { tradeType: "native" as const },
    };
    const first = await createPrepay(config, deps, input);
    const again = await createPrepay(config, deps, input);
    expect(first).toMatchObject({
      ok: true,
      value: { codeUrl: expect.stringMatching(/^weixin:\/\/wxpay\//) },
    });
    expect(again).toEqual(first);
  });

  it("refuses a non-CNY order before calling WeChat", async () => {
    const result = await createPrepay(config, deps, {
      order: order("ord_usd_1", { currency: "USD" }),
      description: "x",
      notifyUrl: NOTIFY_URL,
      trade: { tradeType: "native" },
    });
    expect(result).toMatchObject({ ok: false, error: { kind: "permanent", code: "CURRENCY" } });
  });

  it("JSAPI: paySign verifies with the merchant public key (node:crypto) and WeChat's client accepts it", async () => {
    const prepay = await createPrepay(config, deps, {
      order: order("ord_jsapi_1"),
      description: "100 credits",
      notifyUrl: NOTIFY_URL,
      trade: { tradeType: "jsapi", openid: OPENID },
    });
    if (!prepay.ok || !("prepayId" in prepay.value)) throw new Error("no prepay id");
    const params = await signRequestPayment(
      {
        appId: config.appid,
        prepayId: prepay.value.prepayId,
        merchantPrivateKeyPem: config.merchantPrivateKeyPem,
      },
      Date.now(),
    );
    expect(params).toMatchObject({
      appId: config.appid,
      signType: "RSA",
      package: `prepay_id=${prepay.value.prepayId}`,
    });
    expect(params.timeStamp).toMatch(/^\d{10}$/);
    const merchantPublicKeyPem = createPublicKey(config.merchantPrivateKeyPem)
      .export({ type: "spki", format: "pem" })
      .toString();
    expect(paySignVerifies({ ...params }, merchantPublicKeyPem)).toBe(true);
    expect(paySignVerifies({ ...params, nonceStr: `${params.nonceStr}x` }, merchantPublicKeyPem)).toBe(false);

    const tampered = await control("wechat/jsapi/pay", { ...params, package: "prepay_id=wx_unknown" });
    expect(tampered.status).toBe(409);
    const forged = await control("wechat/jsapi/pay", {
      ...params,
      timeStamp: String(Number(params.timeStamp) + 1),
    });
    expect(forged).toMatchObject({ status: 409, body: { error: expect.stringContaining("paySign") } });
    const paid = await control("wechat/jsapi/pay", params);
    expect(paid.status).toBe(200);
    expect(paid.body.eventIds).toHaveLength(1);
  });

  it("JSAPI: the same order with another openid is refused (OUT_TRADE_NO_USED)", async () => {
    const base = { order: order("ord_jsapi_2"), description: "100 credits", notifyUrl: NOTIFY_URL };
    expect(
      (await createPrepay(config, deps, { ...base, trade: { tradeType: "jsapi", openid: OPENID } })).ok,
    ).toBe(true);
    const other = await createPrepay(config, deps, {
      ...base,
      trade: { tradeType: "jsapi", openid: "oAnotherPayer" },
    });
    expect(other).toMatchObject({ ok: false, error: { code: "OUT_TRADE_NO_USED", kind: "permanent" } });
  });
});
