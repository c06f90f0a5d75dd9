// JSAPI at the WeChat Pay simulator: `POST /v3/pay/transactions/jsapi` (the Native create plus
// `payer.openid`, answering `{prepay_id}`), and the check WeChat's client makes when a page calls
// `requestPayment`: appId is the order's, the prepay id is known and under 2 hours old, signType is RSA
// and paySign verifies with the merchant's public key over `appId\ntimeStamp\nnonceStr\npackage\n`
// (pay.weixin.qq.com/doc/v3/merchant/4012525167 and wechatpay-go's PrepayWithRequestPayment).
// Written with node:crypto, independently of payguard's WebCrypto signer.
import { createPublicKey, verify } from "node:crypto";
import { json, type SandboxRequest, type SandboxResponse } from "../http.ts";
import { randomId } from "../rng.ts";
import { type OrdersApiContext, readCreate } from "./orders-api.ts";
import { paramError, parseJsonObject, wechatError } from "./reply.ts";
import { WechatScenarioError } from "./scenario.ts";
import { isPaid, ORDER_EXPIRE_DEFAULT_MS, type WechatState } from "./state.ts";

/** WeChat documents a prepay_id as valid for 2 hours. */
export const PREPAY_ID_TTL_MS = 2 * 60 * 60 * 1000;
const PREPAY_ID_TOKEN_CHARS = 30;
const OPENID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

interface Prepay {
  prepayId: string;
  outTradeNo: string;
  openid: string;
  createdAtMs: number;
}

/** Per simulator state: prepay ids by out_trade_no and the reverse. */
const prepays = new WeakMap<WechatState, Map<string, Prepay>>();
const prepaysOf = (state: WechatState): Map<string, Prepay> => {
  const found = prepays.get(state) ?? new Map<string, Prepay>();
  prepays.set(state, found);
  return found;
};

export function createJsapiOrder(context: OrdersApiContext, request: SandboxRequest): SandboxResponse {
  const body = parseJsonObject(request.body);
  if (!body) return paramError("请求体不是合法的JSON对象");
  const input = readCreate(body);
  if (typeof input === "string") return paramError(input);
  const payer = (typeof body.payer === "object" && body.payer !== null ? body.payer : {}) as Record<
    string,
    unknown
  >;
  if (typeof payer.openid !== "string" || !OPENID_PATTERN.test(payer.openid))
    return paramError("payer.openid is required");
  if (input.mchid !== context.mchid) return paramError("mchid与请求的商户号不一致");
  if (input.appid !== context.appid) return wechatError(400, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配");
  const nowMs = context.clock();
  const known = prepaysOf(context.state);
  const existing = context.state.orders.get(input.outTradeNo);
  if (existing) {
    if (isPaid(existing)) return wechatError(400, "ORDERPAID", "该订单已支付");
    if (existing.tradeState === "CLOSED") return wechatError(400, "ORDER_CLOSED", "订单已关闭");
    const prepay = known.get(input.outTradeNo);
    const same =
      prepay?.openid === payer.openid &&
      existing.amountMinor === input.totalMinor &&
      existing.description === input.description;
    if (!prepay || !same) return wechatError(403, "OUT_TRADE_NO_USED", "商户订单号重复");
    // Same parameters again: the order's current prepay id (a fresh one once the old one lapsed).
    if (nowMs - prepay.createdAtMs >= PREPAY_ID_TTL_MS)
      Object.assign(prepay, { prepayId: newPrepayId(context), createdAtMs: nowMs });
    return json(200, { prepay_id: prepay.prepayId });
  }
  context.state.orders.set(input.outTradeNo, {
    outTradeNo: input.outTradeNo,
    appid: input.appid,
    mchid: input.mchid,
    description: input.description,
    attach: input.attach,
    amountMinor: input.totalMinor,
    currency: "CNY",
    createdAtMs: nowMs,
    expireAtMs: input.expireAtMs ?? nowMs + ORDER_EXPIRE_DEFAULT_MS,
    tradeType: "JSAPI",
    tradeState: "NOTPAY",
  });
  const prepay = {
    prepayId: newPrepayId(context),
    outTradeNo: input.outTradeNo,
    openid: payer.openid,
    createdAtMs: nowMs,
  };
  known.set(input.outTradeNo, prepay);
  return json(200, { prepay_id: prepay.prepayId });
}

const newPrepayId = (context: OrdersApiContext): string =>
  randomId(context.random, "wx", PREPAY_ID_TOKEN_CHARS);

export interface RequestPaymentInput {
  appId?: unknown;
  timeStamp?: unknown;
  nonceStr?: unknown;
  package?: unknown;
  signType?: unknown;
  paySign?: unknown;
}

/** What WeChat's client checks before showing the payment sheet; answers the order's out_trade_no. */
export function checkRequestPayment(
  state: WechatState,
  keys: { appid: string; merchantPublicKeyPem: string },
  params: RequestPaymentInput,
  nowMs: number,
): string {
  const { appId, timeStamp, nonceStr, package: pkg, signType, paySign } = params;
  const strings = [appId, timeStamp, nonceStr, pkg, signType, paySign];
  if (!strings.every((value) => typeof value === "string" && value !== "")) {
    throw new WechatScenarioError(
      "requestPayment needs appId, timeStamp, nonceStr, package, signType, paySign",
    );
  }
  if (appId !== keys.appid) throw new WechatScenarioError("appId is not the merchant's app");
  if (signType !== "RSA") throw new WechatScenarioError("signType must be RSA");
  if (!/^\d{10}$/.test(timeStamp as string)) throw new WechatScenarioError("timeStamp must be unix seconds");
  const prepayId = (pkg as string).startsWith("prepay_id=") ? (pkg as string).slice("prepay_id=".length) : "";
  const prepay = [...prepaysOf(state).values()].find((p) => p.prepayId === prepayId);
  if (!prepay) throw new WechatScenarioError("package does not name a known prepay_id");
  if (nowMs - prepay.createdAtMs >= PREPAY_ID_TTL_MS) throw new WechatScenarioError("prepay_id has expired");
  const message = `${appId}\n${timeStamp}\n${nonceStr}\n${pkg}\n`;
  const key = createPublicKey(keys.merchantPublicKeyPem);
  if (!verify("RSA-SHA256", Buffer.from(message), key, Buffer.from(paySign as string, "base64"))) {
    throw new WechatScenarioError("paySign does not verify with the merchant public key");
  }
  return prepay.outTradeNo;
}
