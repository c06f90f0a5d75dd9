/**
 * payguard's WeChat Pay client (WebCrypto) against the sandbox (node:crypto, written separately from the
 * protocol description): signed requests are accepted, responses verified, failures typed.
 */
import { generateKeyPairSync } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Sandbox, startSandbox } from "../../../dev/sandbox/index.ts";
import { downloadTradeBill, parseTradeBill } from "../../../src/providers/wechatpay/bill.ts";
import { createWechatClient, type WechatClientDeps } from "../../../src/providers/wechatpay/client.ts";
import { createWechatProviderApi } from "../../../src/providers/wechatpay/provider-api.ts";
import { parseWechatConfig, type WechatConfig } from "../../../src/providers/wechatpay/settings.ts";

/** 2026-11-21 12:00 Beijing. */
const DAY_MS = Date.UTC(2026, 10, 21, 4, 0, 0);
let nowMs = DAY_MS;
let sandbox: Sandbox;
let config: WechatConfig;
const deps: WechatClientDeps = { fetch: (input, init) => fetch(input, init), clock: () => nowMs };

function configWith(overrides: Record<string, string> = {}): WechatConfig {
  const w = sandbox.wechat;
  const result = parseWechatConfig({
    WECHATPAY_MCHID: w.mchid,
    WECHATPAY_APPID: w.appid,
    WECHATPAY_MERCHANT_SERIAL: w.merchantSerial,
    WECHATPAY_MERCHANT_PRIVATE_KEY: w.merchantPrivateKeyPem,
    WECHATPAY_APIV3_KEY: w.apiV3Key,
    WECHATPAY_PUBLIC_KEY_ID: w.publicKeyId,
    WECHATPAY_PUBLIC_KEY: w.publicKeyPem,
    WECHATPAY_PLATFORM_CERTS: w.platformCertsPem,
    WECHATPAY_API_BASE: sandbox.url,
    ...overrides,
  });
  if (!result.ok) throw new Error(result.problems.join("; "));
  return result.config;
}

const control = (path: string, body: unknown) =>
  fetch(`${sandbox.url}/_control/${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  }).then((r) => r.json());

beforeAll(async () => {
  sandbox = await startSandbox({ seed: 11, clock: () => nowMs });
  config = configWith();
});
afterAll(() => sandbox.close());

const order = (id: string) => ({
  id,
  userId: "u",
  packageId: "p",
  provider: "wechatpay" as const,
  status: "pending" as const,
  amountMinor: 990,
  currency: "CNY",
  credits: 100,
  providerRef: null,
  paymentRef: null,
  discountMinor: 0,
  createdAtMs: nowMs,
  expiresAtMs: nowMs,
  nextCheckAtMs: null,
  checkAttempts: 0,
});

describe("WeChat Pay client", () => {
  // Several tests below query this paid order, in whatever order they run.
  beforeAll(() => control("wechat/pay", { outTradeNo: "ord_client_paid", amountMinor: 990, deliver: false }));

  it("queries an order with a signed request and verifies the signed answer", async () => {
    const api = createWechatProviderApi(config, createWechatClient(config, deps));
    expect(await api.queryOrder(order("ord_client_paid"), nowMs)).toMatchObject({
      ok: true,
      value: { kind: "paid", orderId: "ord_client_paid", amountMinor: 990, currency: "CNY" },
    });
  });

  it("reads an order WeChat does not know as still pending, and a closed one as expired", async () => {
    const api = createWechatProviderApi(config, createWechatClient(config, deps));
    expect(await api.queryOrder(order("ord_never_seen"), nowMs)).toEqual({
      ok: true,
      value: {
        kind: "pending",
        provider: "wechatpay",
        orderId: "ord_never_seen",
        providerState: "ORDER_NOT_EXIST",
      },
    });
    const client = createWechatClient(config, deps);
    await client.createNativeOrder({
      outTradeNo: "ord_to_close",
      description: "100 credits",
      amountMinor: 990,
      notifyUrl: "https://payguard.test/webhooks/wechatpay",
    });
    expect(await api.closeOrder(order("ord_to_close"), nowMs)).toEqual({ ok: true, value: undefined });
    expect(await api.queryOrder(order("ord_to_close"), nowMs)).toMatchObject({
      ok: true,
      value: { kind: "expired" },
    });
  });

  it("gets WeChat's 401 SIGN_ERROR when signing with the wrong merchant key", async () => {
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const wrong = configWith({
      WECHATPAY_MERCHANT_PRIVATE_KEY: privateKey.export({ type: "pkcs8", format: "pem" }) as string,
    });
    const result = await createWechatClient(wrong, deps).queryOrder("ord_client_paid");
    expect(result).toMatchObject({
      ok: false,
      error: { kind: "permanent", status: 401, code: "SIGN_ERROR" },
    });
  });

  it("rejects a response whose body was altered on the way", async () => {
    const tampering: WechatClientDeps = {
      ...deps,
      fetch: async (input, init) => {
        const response = await fetch(input, init);
        const body = (await response.text()).replace('"trade_state":"SUCCESS"', '"trade_state":"NOTPAY"');
        return new Response(body, { status: response.status, headers: response.headers });
      },
    };
    const result = await createWechatClient(config, tampering).queryOrder("ord_client_paid");
    expect(result).toMatchObject({ ok: false, error: { code: "RESPONSE_SIGNATURE" } });
  });

  it("types 5xx and 429 as transient (with Retry-After) and a hung request as a transient timeout", async () => {
    const client = createWechatClient(config, deps);
    await control("faults", { api: [{ kind: "5xx", pathPrefix: "/v3/pay", count: 1 }] });
    expect(await client.queryOrder("ord_client_paid")).toMatchObject({
      ok: false,
      error: { kind: "transient", status: 500 },
    });
    await control("faults", { api: [{ kind: "429", pathPrefix: "/v3/pay", count: 1, retryAfterS: 7 }] });
    expect(await client.queryOrder("ord_client_paid")).toMatchObject({
      ok: false,
      error: { kind: "transient", status: 429, retryAfterS: 7 },
    });
    await control("faults", { api: [{ kind: "timeout", pathPrefix: "/v3/pay", count: 1, hangMs: 2_000 }] });
    const impatient = createWechatClient(config, { ...deps, timeoutMs: 200 });
    expect(await impatient.queryOrder("ord_client_paid")).toMatchObject({
      ok: false,
      error: { kind: "transient", code: "NETWORK" },
    });
    expect((await client.queryOrder("ord_client_paid")).ok).toBe(true);
  });

  it("downloads the next day's trade bill, checks its SHA-1 and parses it", async () => {
    await control("wechat/pay", { outTradeNo: "ord_in_bill", amountMinor: 1990, deliver: false });
    nowMs = DAY_MS + 24 * 3600_000; // 2026-11-22 12:00 Beijing: yesterday's bill is ready
    const csv = await downloadTradeBill(config, deps, "2026-11-21");
    if (!csv.ok) throw new Error(csv.error.message);
    const rows = parseTradeBill(csv.value);
    expect(rows.ok && rows.value.find((row) => row.outTradeNo === "ord_in_bill")).toMatchObject({
      tradeState: "SUCCESS",
      amountMinor: 1990,
      currency: "CNY",
    });
  });
});
