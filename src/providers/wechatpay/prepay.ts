/**
 * WeChat Pay prepay for an order payguard wrote first (API v3, pay.weixin.qq.com/doc/v3/merchant/4012525171
 * Native and 4012525167 JSAPI): `out_trade_no` is the order id, `time_expire` the order's expiry in
 * Beijing time, `notify_url` the public webhook. Requesting again with the same parameters before
 * `time_expire` is allowed and answers the same order, so a retried checkout never pays twice; the
 * body is therefore built only from what the order fixes.
 */
import { err, type InfraError, ok, type Result } from "../../ledger/result.ts";
import type { Order } from "../../ledger/types.ts";
import { type WechatClientDeps, wechatRequest } from "./client.ts";
import type { WechatConfig } from "./settings.ts";

export const WECHATPAY_DESCRIPTION_MAX_CHARS = 127;
export const WECHATPAY_ATTACH_MAX_CHARS = 128;
const BEIJING_OFFSET_MS = 8 * 60 * 60 * 1000;

export type PrepayTrade = { tradeType: "native" } | { tradeType: "jsapi"; openid: string };

/** RFC 3339 with +08:00 to the second, as WeChat documents `time_expire` (2018-06-08T10:34:56+08:00). */
export function beijingRfc3339(epochMs: number): string {
  const local = new Date(Math.floor(epochMs / 1000) * 1000 + BEIJING_OFFSET_MS).toISOString();
  return `${local.slice(0, 19)}+08:00`;
}

/** Pure: the prepay body for one order. `attach` carries the metadata that rebuilds a lost order. */
export function prepayBody(
  config: Pick<WechatConfig, "appid" | "mchid">,
  order: Order,
  description: string,
  notifyUrl: string,
  trade: PrepayTrade,
): Record<string, unknown> {
  const attach = JSON.stringify({ user_id: order.userId, package_id: order.packageId });
  return {
    appid: config.appid,
    mchid: config.mchid,
    description: description.slice(0, WECHATPAY_DESCRIPTION_MAX_CHARS),
    out_trade_no: order.id,
    time_expire: beijingRfc3339(order.expiresAtMs),
    ...(attach.length <= WECHATPAY_ATTACH_MAX_CHARS && { attach }),
    notify_url: notifyUrl,
    amount: { total: order.amountMinor, currency: order.currency },
    ...(trade.tradeType === "jsapi" && { payer: { openid: trade.openid } }),
  };
}

type PrepayAnswer = { codeUrl: string } | { prepayId: string };

function readAnswer(bytes: Uint8Array, trade: PrepayTrade): PrepayAnswer | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return null;
  }
  const body = (typeof parsed === "object" && parsed !== null ? parsed : {}) as Record<string, unknown>;
  if (trade.tradeType === "native")
    return typeof body.code_url === "string" ? { codeUrl: body.code_url } : null;
  return typeof body.prepay_id === "string" ? { prepayId: body.prepay_id } : null;
}

export async function createPrepay(
  config: WechatConfig,
  deps: WechatClientDeps,
  input: { order: Order; description: string; notifyUrl: string; trade: PrepayTrade },
): Promise<Result<PrepayAnswer, InfraError>> {
  if (input.order.currency !== "CNY") {
    return err({
      kind: "permanent",
      code: "CURRENCY",
      message: `WeChat Pay charges CNY, not ${input.order.currency}`,
    });
  }
  const result = await wechatRequest(config, deps, {
    method: "POST",
    url: `${config.apiBase}/v3/pay/transactions/${input.trade.tradeType}`,
    body: prepayBody(config, input.order, input.description, input.notifyUrl, input.trade),
  });
  if (!result.ok) return result;
  const answer = readAnswer(result.value.bytes, input.trade);
  if (!answer)
    return err({ kind: "transient", code: "MALFORMED_RESPONSE", message: "prepay answer lacks its id" });
  return ok(answer);
}
