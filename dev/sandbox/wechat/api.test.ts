// WeChat Pay API v3 as the simulator answers it: request signatures are enforced like WeChat does,
// every 2xx answer is signed with the key the mode names, and orders behave as WeChat documents.
import { beforeAll, describe, expect, it } from "vitest";
import type { SandboxRequest, SandboxResponse } from "../http.ts";
import {
  generateWechatKeys,
  type WechatCredentials,
  type WechatMode,
  type WechatPlatformKeys,
} from "./index.ts";
import {
  authorizationHeader,
  type MerchantRequestInput,
  merchantRequest,
  verifyWechatSignature,
} from "./merchant-kit.ts";
import { simulatorForTest, TEST_NOTIFY_URL } from "./testing.ts";

let credentials: WechatCredentials;
let platformKeys: WechatPlatformKeys;
const START_MS = Date.parse("2024-05-20T10:00:00+08:00");

beforeAll(async () => {
  ({ credentials, platformKeys } = await generateWechatKeys());
});

function setup(mode: WechatMode = "public_key", seed = 1) {
  const { sandbox, deliveries, now, advance } = simulatorForTest(
    { credentials, platformKeys },
    { mode, seed, startMs: START_MS },
  );
  const request = (input: Omit<MerchantRequestInput, "nowMs">): SandboxRequest =>
    merchantRequest(credentials, { ...input, nowMs: now() });
  const call = async (input: Omit<MerchantRequestInput, "nowMs">): Promise<SandboxResponse> => {
    const response = await sandbox.handle(request(input));
    if (!response) throw new Error("the simulator did not answer a /v3/ request");
    return response;
  };
  return { sandbox, deliveries, request, call, advance };
}

const bodyOf = (response: SandboxResponse): Record<string, unknown> =>
  JSON.parse(String(response.body ?? "null"));
const text = (response: SandboxResponse): string => (typeof response.body === "string" ? response.body : "");

const nativeOrder = (outTradeNo: string, extra: Record<string, unknown> = {}) => ({
  method: "POST" as const,
  url: "/v3/pay/transactions/native",
  body: {
    appid: credentials.appid,
    mchid: credentials.mchid,
    description: "100 credits",
    out_trade_no: outTradeNo,
    notify_url: TEST_NOTIFY_URL,
    amount: { total: 990, currency: "CNY" },
    ...extra,
  },
});
const query = (outTradeNo: string) => ({
  method: "GET" as const,
  url: `/v3/pay/transactions/out-trade-no/${outTradeNo}?mchid=${credentials.mchid}`,
});
const close = (outTradeNo: string) => ({
  method: "POST" as const,
  url: `/v3/pay/transactions/out-trade-no/${outTradeNo}/close`,
  body: { mchid: credentials.mchid },
});

describe("request signatures", () => {
  it("answers a correctly signed request and refuses a tampered one with 401 SIGN_ERROR", async () => {
    const { sandbox, call, request } = setup();
    const created = await call(nativeOrder("order_sig_1"));
    expect(created.status).toBe(200);
    expect(bodyOf(created).code_url).toMatch(/^weixin:\/\/wxpay\/bizpayurl\?pr=/);

    const tampered = request(nativeOrder("order_sig_2"));
    tampered.body = tampered.body.replace('"total":990', '"total":1');
    const refused = (await sandbox.handle(tampered)) as SandboxResponse;
    expect(refused.status).toBe(401);
    expect(bodyOf(refused)).toMatchObject({ code: "SIGN_ERROR" });
    expect(refused.headers?.["wechatpay-signature"]).toBeUndefined();
    expect(sandbox.orders().map((order) => order.outTradeNo)).toEqual(["order_sig_1"]);
  });

  const forged: Array<[string, (input: MerchantRequestInput) => Partial<MerchantRequestInput>]> = [
    ["no Authorization header", () => ({ headers: { authorization: undefined } })],
    ["another scheme", () => ({ headers: { authorization: 'Bearer mchid="1900000109"' } })],
    ["a key that is not the merchant's", () => ({ signingKeyPem: platformKeys.publicKeyModePrivateKeyPem })],
    ["a timestamp 301 s old", (input) => ({ nowMs: input.nowMs - 301_000 })],
    ["a timestamp 301 s ahead", (input) => ({ nowMs: input.nowMs + 301_000 })],
  ];
  it.each(forged)("refuses %s with 401 SIGN_ERROR", async (_name, forge) => {
    const { sandbox } = setup();
    const input = { ...query("order_x"), nowMs: START_MS };
    const response = (await sandbox.handle(
      merchantRequest(credentials, { ...input, ...forge(input) }),
    )) as SandboxResponse;
    expect(response.status).toBe(401);
    expect(bodyOf(response).code).toBe("SIGN_ERROR");
  });

  it.each([
    ["mchid", { ...credentials, mchid: "1900000999" }],
    ["serial_no", { ...credentials, merchantSerial: "0".repeat(40) }],
  ] as const)("refuses a request whose %s is not the merchant's", async (_field, other) => {
    const { sandbox } = setup();
    const message = {
      method: "GET",
      pathWithQuery: query("order_x").url,
      body: "",
      timestamp: String(START_MS / 1000),
      nonce: "N1",
    };
    const signedRequest = merchantRequest(credentials, { ...query("order_x"), nowMs: START_MS });
    signedRequest.headers.authorization = authorizationHeader(
      other,
      message,
      credentials.merchantPrivateKeyPem,
    );
    const response = (await sandbox.handle(signedRequest)) as SandboxResponse;
    expect(response.status).toBe(401);
    expect(bodyOf(response).code).toBe("SIGN_ERROR");
  });

  it("accepts a timestamp just inside the 5-minute window", async () => {
    const { sandbox } = setup();
    const response = await sandbox.handle(
      merchantRequest(credentials, { ...query("order_x"), nowMs: START_MS - 299_000 }),
    );
    expect(response?.status).toBe(404);
  });

  it("refuses requests without Accept or User-Agent, as WeChat does", async () => {
    const { call } = setup();
    for (const missing of ["accept", "user-agent"]) {
      const response = await call({ ...query("order_x"), headers: { [missing]: undefined } });
      expect(response.status).toBe(400);
      expect(bodyOf(response)).toEqual({ code: "INVALID_REQUEST", message: "Http头缺少Accept或User-Agent" });
    }
  });

  it("leaves paths outside /v3/ to others and answers unknown /v3/ paths with 404", async () => {
    const { sandbox, call } = setup();
    expect(
      await sandbox.handle({
        method: "GET",
        path: "/v1/events",
        query: new URLSearchParams(),
        headers: {},
        body: "",
      }),
    ).toBeNull();
    expect((await call({ method: "GET", url: "/v3/nothing/here" })).status).toBe(404);
  });
});

describe("response signatures", () => {
  it.each([
    ["public_key", () => credentials.publicKeyId],
    ["certificate", () => platformKeys.platformCertSerial],
  ] as const)("in %s mode, signs with the key its Wechatpay-Serial names", async (mode, serial) => {
    const { call } = setup(mode);
    const response = await call(nativeOrder("order_mode_1"));
    expect(response.headers?.["wechatpay-serial"]).toBe(serial());
    expect(response.headers?.["wechatpay-timestamp"]).toBe(String(START_MS / 1000));
    expect(response.headers?.["wechatpay-nonce"]).toMatch(/^[0-9A-Za-z]{32}$/);
    expect(verifyWechatSignature(credentials, response.headers, text(response))).toBe(true);
    expect(verifyWechatSignature(credentials, response.headers, `${text(response)} `)).toBe(false);
  });

  it("in mixed mode, signs with both keys at random, each verifiable", async () => {
    const { call } = setup("mixed");
    await call(nativeOrder("order_mixed"));
    const serials = new Set<string>();
    for (let i = 0; i < 24; i += 1) {
      const response = await call(query("order_mixed"));
      expect(verifyWechatSignature(credentials, response.headers, text(response))).toBe(true);
      serials.add(response.headers?.["wechatpay-serial"] ?? "");
    }
    expect(serials).toEqual(new Set([credentials.publicKeyId, platformKeys.platformCertSerial]));
  });

  it("signs a 204 over the empty body, and follows a mode change at once", async () => {
    const { sandbox, call } = setup("public_key");
    await call(nativeOrder("order_204"));
    sandbox.setMode("certificate");
    const closed = await call(close("order_204"));
    expect(closed.status).toBe(204);
    expect(closed.body).toBeUndefined();
    expect(closed.headers?.["wechatpay-serial"]).toBe(platformKeys.platformCertSerial);
    expect(verifyWechatSignature(credentials, closed.headers, "")).toBe(true);
  });
});

describe("orders", () => {
  it("answers a query with WeChat's NOTPAY, then SUCCESS transaction", async () => {
    const { sandbox, call } = setup();
    await call(nativeOrder("order_q_1", { attach: "user=42" }));
    expect(bodyOf(await call(query("order_q_1")))).toEqual({
      amount: { payer_currency: "CNY", total: 990 },
      appid: credentials.appid,
      mchid: credentials.mchid,
      out_trade_no: "order_q_1",
      promotion_detail: [],
      scene_info: { device_id: "" },
      trade_state: "NOTPAY",
      trade_state_desc: "订单未支付",
    });
    const { transactionId } = sandbox.pay({ outTradeNo: "order_q_1" });
    const paid = bodyOf(await call(query("order_q_1")));
    expect(paid).toMatchObject({
      amount: { currency: "CNY", payer_currency: "CNY", payer_total: 990, total: 990 },
      attach: "user=42",
      trade_state: "SUCCESS",
      trade_type: "NATIVE",
      transaction_id: transactionId,
      success_time: "2024-05-20T10:00:00+08:00",
    });
    expect((paid.payer as { openid: string }).openid).toMatch(/^o.{27}$/);
    const byId = await call({
      method: "GET",
      url: `/v3/pay/transactions/id/${transactionId}?mchid=${credentials.mchid}`,
    });
    expect(bodyOf(byId)).toEqual(paid);
  });

  it("names the trade type the order was created with: JSAPI for /jsapi, NATIVE for /native", async () => {
    const { sandbox, call } = setup();
    const jsapi = nativeOrder("order_j_1", { payer: { openid: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o" } });
    expect((await call({ ...jsapi, url: "/v3/pay/transactions/jsapi" })).status).toBe(200);
    await call(nativeOrder("order_n_1"));
    sandbox.pay({ outTradeNo: "order_j_1" });
    sandbox.pay({ outTradeNo: "order_n_1" });
    expect(bodyOf(await call(query("order_j_1")))).toMatchObject({ trade_type: "JSAPI" });
    expect(bodyOf(await call(query("order_n_1")))).toMatchObject({ trade_type: "NATIVE" });
  });

  it("answers 404 ORDER_NOT_EXIST for an unknown order and PARAM_ERROR without mchid", async () => {
    const { call } = setup();
    const unknown = await call(query("order_unknown"));
    expect(unknown.status).toBe(404);
    expect(bodyOf(unknown)).toMatchObject({ code: "ORDER_NOT_EXIST" });
    const noMchid = await call({ method: "GET", url: "/v3/pay/transactions/out-trade-no/order_unknown" });
    expect(bodyOf(noMchid)).toMatchObject({ code: "PARAM_ERROR" });
  });

  it("closes an unpaid order (twice is fine) and refuses to close a paid one with ORDERPAID", async () => {
    const { sandbox, call } = setup();
    await call(nativeOrder("order_c_1"));
    expect((await call(close("order_c_1"))).status).toBe(204);
    expect((await call(close("order_c_1"))).status).toBe(204);
    expect(bodyOf(await call(query("order_c_1")))).toMatchObject({
      trade_state: "CLOSED",
      trade_state_desc: "订单已关闭",
    });

    await call(nativeOrder("order_c_2"));
    sandbox.pay({ outTradeNo: "order_c_2" });
    const refused = await call(close("order_c_2"));
    expect(refused.status).toBe(400);
    expect(bodyOf(refused)).toMatchObject({ code: "ORDERPAID" });
    expect(bodyOf(await call(query("order_c_2")))).toMatchObject({ trade_state: "SUCCESS" });
  });

  it("pays an order armed to pay at the close, notifies it, then refuses that close with ORDERPAID", async () => {
    const { sandbox, call, deliveries } = setup();
    await call(nativeOrder("order_c_3"));
    sandbox.payAtClose({ outTradeNo: "order_c_3" });
    expect(bodyOf(await call(query("order_c_3")))).toMatchObject({ trade_state: "NOTPAY" });
    deliveries.length = 0;
    const refused = await call(close("order_c_3"));
    expect(refused.status).toBe(400);
    expect(bodyOf(refused)).toMatchObject({ code: "ORDERPAID" });
    expect(deliveries).toHaveLength(1);
    expect(bodyOf(await call(query("order_c_3")))).toMatchObject({ trade_state: "SUCCESS" });
  });

  it("answers USERPAYING while the payer confirms, SUCCESS once paid", async () => {
    const { sandbox, call } = setup();
    await call(nativeOrder("order_u_1"));
    sandbox.startPaying({ outTradeNo: "order_u_1" });
    expect(bodyOf(await call(query("order_u_1")))).toMatchObject({ trade_state: "USERPAYING" });
    sandbox.pay({ outTradeNo: "order_u_1" });
    expect(bodyOf(await call(query("order_u_1")))).toMatchObject({ trade_state: "SUCCESS" });
  });

  it("closes an unpaid order by itself once time_expire has passed", async () => {
    const { call, advance } = setup();
    await call(nativeOrder("order_exp", { time_expire: "2024-05-20T10:30:00+08:00" }));
    advance(29 * 60_000);
    expect(bodyOf(await call(query("order_exp"))).trade_state).toBe("NOTPAY");
    advance(60_000);
    expect(bodyOf(await call(query("order_exp"))).trade_state).toBe("CLOSED");
  });

  it("returns the same code_url for a repeated create and refuses changed or invalid ones", async () => {
    const { sandbox, call } = setup();
    const first = bodyOf(await call(nativeOrder("order_dup")));
    expect(bodyOf(await call(nativeOrder("order_dup")))).toEqual(first);
    const changed = await call(nativeOrder("order_dup", { amount: { total: 1, currency: "CNY" } }));
    expect([changed.status, bodyOf(changed).code]).toEqual([403, "OUT_TRADE_NO_USED"]);
    sandbox.pay({ outTradeNo: "order_dup" });
    expect(bodyOf(await call(nativeOrder("order_dup"))).code).toBe("ORDERPAID");
    const withQuery = await call(
      nativeOrder("order_q", { notify_url: `${TEST_NOTIFY_URL}?provider=wechat` }),
    );
    expect([withQuery.status, bodyOf(withQuery).code]).toEqual([400, "PARAM_ERROR"]);
    const otherApp = await call(nativeOrder("order_app", { appid: "wx0000000000000000" }));
    expect(bodyOf(otherApp).code).toBe("APPID_MCHID_NOT_MATCH");
  });
});
