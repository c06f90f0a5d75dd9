// The trade bill as the simulator serves it: WeChat's two-step download (signed request for a URL and
// SHA-1, then a signed, unsigned-answer download), its CSV layout per bill type, and its error codes.
import { createHash } from "node:crypto";
import { gunzipSync } from "node:zlib";
import { beforeAll, describe, expect, it } from "vitest";
import type { SandboxResponse } from "../http.ts";
import { mulberry32 } from "../rng.ts";
import {
  createWechatSandbox,
  generateWechatKeys,
  type WechatCredentials,
  type WechatPlatformKeys,
} from "./index.ts";
import { type MerchantRequestInput, merchantRequest, parseBill } from "./merchant-kit.ts";

let credentials: WechatCredentials;
let platformKeys: WechatPlatformKeys;

const ALL_HEADER =
  "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注";
const SUCCESS_HEADER =
  "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,商品名称,商户数据包,手续费,费率,订单金额,费率备注";
const REFUND_HEADER =
  "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,退款申请时间,退款成功时间,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注";
const FULL_SUMMARY =
  "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额";

const at = (beijing: string) => Date.parse(`${beijing}+08:00`);

beforeAll(async () => {
  ({ credentials, platformKeys } = await generateWechatKeys());
});

/** One Beijing day of trade on 2024-05-20, with neighbours that must stay out of its bill. */
async function tradingDay() {
  let nowMs = at("2024-05-20T09:00:00");
  const sandbox = createWechatSandbox({
    mode: "mixed",
    credentials,
    platformKeys,
    clock: () => nowMs,
    random: mulberry32(5),
    deliver: () => {},
  });
  const call = async (input: Omit<MerchantRequestInput, "nowMs">): Promise<SandboxResponse> =>
    (await sandbox.handle(merchantRequest(credentials, { ...input, nowMs }))) as SandboxResponse;
  const base = {
    appid: credentials.appid,
    mchid: credentials.mchid,
    notify_url: "https://payguard.example.com/wx",
  };
  for (const [outTradeNo, total] of [
    ["bill_a", 990],
    ["bill_unpaid", 500],
  ] as const) {
    const body = {
      ...base,
      description: "100 credits",
      out_trade_no: outTradeNo,
      amount: { total },
      attach: "user=42",
    };
    await call({ method: "POST", url: "/v3/pay/transactions/native", body });
  }
  const step = (time: string, run: () => unknown) => {
    nowMs = at(time);
    return run();
  };
  const a = step("2024-05-20T09:05:00", () => sandbox.pay({ outTradeNo: "bill_a" }));
  step("2024-05-20T12:00:00", () =>
    sandbox.pay({ outTradeNo: "bill_other", amountMinor: 700, mchid: "1900000999" }),
  );
  const b = step("2024-05-20T15:00:00", () => sandbox.pay({ outTradeNo: "bill_b", amountMinor: 12345 }));
  const refund = step("2024-05-20T20:00:00", () =>
    sandbox.refund({ outTradeNo: "bill_a", amountMinor: 300 }),
  );
  step("2024-05-20T23:59:59", () => sandbox.pay({ outTradeNo: "bill_c", amountMinor: 1 }));
  step("2024-05-21T00:00:00", () => sandbox.pay({ outTradeNo: "bill_next_day", amountMinor: 800 }));
  nowMs = at("2024-05-21T10:30:00");
  return {
    sandbox,
    call,
    ids: { a, b, refund } as { a: { transactionId: string }; b: unknown; refund: { refundId: string } },
    setNow: (ms: number) => (nowMs = ms),
  };
}

const json = (response: SandboxResponse) => JSON.parse(String(response.body)) as Record<string, string>;
const tradeBill = (query: string) => ({ method: "GET" as const, url: `/v3/bill/tradebill?${query}` });

async function download(call: Awaited<ReturnType<typeof tradingDay>>["call"], query: string) {
  const applied = await call(tradeBill(query));
  expect(applied.status).toBe(200);
  const { hash_type: hashType, hash_value: hashValue, download_url: downloadUrl } = json(applied);
  const url = new URL(downloadUrl as string);
  const file = await call({ method: "GET", url: `${url.pathname}${url.search}` });
  return { applied, hashType, hashValue, url, file, bytes: Buffer.from(file.body as Uint8Array) };
}

describe("trade bill download", () => {
  it("serves yesterday's ALL bill gzipped, SHA-1 of the bill matching, in WeChat's layout", async () => {
    const { call, ids } = await tradingDay();
    const { applied, hashType, hashValue, url, file, bytes } = await download(
      call,
      "bill_date=2024-05-20&bill_type=ALL&tar_type=GZIP",
    );
    expect(applied.headers?.["wechatpay-signature"]).toEqual(expect.any(String));
    expect(hashType).toBe("SHA1");
    expect(`${url.origin}${url.pathname}`).toBe("http://sandbox.test:8787/v3/billdownload/file");
    expect(url.searchParams.get("tartype")).toBe("gzip");
    expect(file.status).toBe(200);
    expect(file.headers?.["wechatpay-signature"]).toBeUndefined();

    const raw = gunzipSync(bytes);
    expect(createHash("sha1").update(raw).digest("hex")).toBe(hashValue);
    const text = raw.toString("utf8");
    expect(text.startsWith(`\uFEFF${ALL_HEADER}\r\n`)).toBe(true);
    expect(text.endsWith("\r\n")).toBe(true);
    expect(text.replaceAll("\r\n", "").includes("\n")).toBe(false);
    expect(
      text
        .split("\r\n")
        .slice(1, -3)
        .every((line) => line.split(",").every((v) => v.startsWith("`"))),
    ).toBe(true);

    const bill = parseBill(text);
    expect(bill.rows.map((row) => [row.商户订单号, row.交易状态, row.交易时间])).toEqual([
      ["bill_a", "SUCCESS", "2024-05-20 09:05:00"],
      ["bill_b", "SUCCESS", "2024-05-20 15:00:00"],
      ["bill_a", "REFUND", "2024-05-20 20:00:00"],
      ["bill_c", "SUCCESS", "2024-05-20 23:59:59"],
    ]);
    expect(bill.rows[0]).toMatchObject({
      公众账号ID: credentials.appid,
      商户号: credentials.mchid,
      特约商户号: "0",
      微信订单号: ids.a.transactionId,
      交易类型: "NATIVE",
      货币种类: "CNY",
      应结订单金额: "9.90",
      微信退款单号: "0",
      退款金额: "0.00",
      商品名称: "100 credits",
      商户数据包: "user=42",
      手续费: "0.06000",
      费率: "0.60%",
      订单金额: "9.90",
    });
    expect(bill.rows[2]).toMatchObject({
      微信订单号: ids.a.transactionId,
      应结订单金额: "0.00",
      微信退款单号: ids.refund.refundId,
      退款金额: "3.00",
      退款类型: "ORIGINAL",
      退款状态: "SUCCESS",
      手续费: "-0.02000",
      申请退款金额: "3.00",
    });
    expect(bill.summaryHeader.join(",")).toBe(FULL_SUMMARY);
    expect(bill.summary).toEqual({
      总交易单数: "4",
      应结订单总金额: "133.36",
      退款总金额: "3.00",
      充值券退款总金额: "0.00",
      手续费总金额: "0.78000",
      订单总金额: "133.36",
      申请退款总金额: "3.00",
    });
  });

  it("lays out SUCCESS and REFUND bills with their own columns and summaries", async () => {
    const { call } = await tradingDay();
    const success = parseBill(
      gunzipSync(
        (await download(call, "bill_date=2024-05-20&bill_type=SUCCESS&tar_type=GZIP")).bytes,
      ).toString("utf8"),
    );
    expect(success.header.join(",")).toBe(SUCCESS_HEADER);
    expect(success.rows.map((row) => row.商户订单号)).toEqual(["bill_a", "bill_b", "bill_c"]);
    expect(success.summary).toEqual({
      总交易单数: "3",
      应结订单总金额: "133.36",
      手续费总金额: "0.80000",
      订单总金额: "133.36",
    });

    const refund = parseBill(
      gunzipSync(
        (await download(call, "bill_date=2024-05-20&bill_type=REFUND&tar_type=GZIP")).bytes,
      ).toString("utf8"),
    );
    expect(refund.header.join(",")).toBe(REFUND_HEADER);
    expect(refund.rows).toHaveLength(1);
    expect(refund.rows[0]).toMatchObject({
      退款申请时间: "2024-05-20 20:00:00",
      退款成功时间: "2024-05-20 20:00:00",
    });
    expect(refund.summary).toMatchObject({ 总交易单数: "1", 退款总金额: "3.00", 手续费总金额: "-0.02000" });
  });

  it("serves the plain bill without tar_type, hash over the same bytes", async () => {
    const { call } = await tradingDay();
    const { hashValue, url, bytes } = await download(call, "bill_date=2024-05-20");
    expect(url.search).toMatch(/^\?token=[0-9A-Za-z]+$/);
    expect(createHash("sha1").update(bytes).digest("hex")).toBe(hashValue);
    expect(parseBill(bytes.toString("utf8")).header.join(",")).toBe(ALL_HEADER);
  });
});

describe("trade bill errors", () => {
  it.each([
    ["today", "2024-05-21T10:30:00", "bill_date=2024-05-21", 400, "NO_STATEMENT_EXIST"],
    ["a future day", "2024-05-21T10:30:00", "bill_date=2024-06-01", 400, "NO_STATEMENT_EXIST"],
    ["yesterday before 10:00", "2024-05-21T09:59:59", "bill_date=2024-05-20", 400, "STATEMENT_CREATING"],
    ["a day without trade", "2024-05-21T10:30:00", "bill_date=2024-05-19", 400, "NO_STATEMENT_EXIST"],
    ["a malformed date", "2024-05-21T10:30:00", "bill_date=20240520", 400, "PARAM_ERROR"],
    [
      "an unknown bill type",
      "2024-05-21T10:30:00",
      "bill_date=2024-05-20&bill_type=FEES",
      400,
      "PARAM_ERROR",
    ],
  ] as const)("answers a bill for %s with WeChat's error", async (_case, now, query, status, code) => {
    const { call, setNow } = await tradingDay();
    setNow(at(now));
    const response = await call(tradeBill(query));
    expect([response.status, json(response).code]).toEqual([status, code]);
  });

  it("serves a day published early (/_control/wechat/bill/publish), today's too, refunds included", async () => {
    const { sandbox, call, setNow, ids } = await tradingDay();
    setNow(at("2024-05-20T21:00:00"));
    const before = await call(tradeBill("bill_date=2024-05-20"));
    expect([before.status, json(before).code]).toEqual([400, "NO_STATEMENT_EXIST"]);
    sandbox.publishBill("2024-05-20");
    const { bytes } = await download(call, "bill_date=2024-05-20");
    expect(bytes.toString("utf8")).toContain(ids.refund.refundId);
    expect(sandbox.refunds()).toEqual([
      expect.objectContaining({
        refundId: ids.refund.refundId,
        outTradeNo: "bill_a",
        amountMinor: 300,
        status: "SUCCESS",
      }),
    ]);
  });

  it("requires a signed download request and expires the URL after 5 minutes", async () => {
    const { call, setNow } = await tradingDay();
    const applied = json(await call(tradeBill("bill_date=2024-05-20&tar_type=GZIP")));
    const url = new URL(applied.download_url as string);
    const path = `${url.pathname}${url.search}`;
    const unsigned = await call({ method: "GET", url: path, headers: { authorization: undefined } });
    expect([unsigned.status, json(unsigned).code]).toEqual([401, "SIGN_ERROR"]);
    setNow(at("2024-05-21T10:35:01"));
    const expired = await call({ method: "GET", url: path });
    expect([expired.status, json(expired).code]).toEqual([400, "INVALID_REQUEST"]);
  });
});
