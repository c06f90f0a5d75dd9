// The order endpoints of WeChat Pay API v3 that payguard calls: Native create, query by out_trade_no or
// transaction_id, and close, with WeChat's documented answers and error codes. Closing a paid order is
// refused with ORDERPAID (the code WeChat's close-order docs give for it); closing a closed one is a no-op.
import { type Clock, json, type SandboxRequest, type SandboxResponse } from "../http.ts";
import { type Random, randomId } from "../rng.ts";
import { paramError, parseJsonObject, wechatError } from "./reply.ts";
import {
  isPaid,
  ORDER_EXPIRE_DEFAULT_MS,
  type OrderRecord,
  transactionObject,
  type WechatState,
} from "./state.ts";

export interface OrdersApiContext {
  state: WechatState;
  mchid: string;
  appid: string;
  clock: Clock;
  /** API-side stream (code URLs), separate from the notification stream */
  random: Random;
}

const OUT_TRADE_NO_PATTERN = /^[0-9A-Za-z_\-|*]{6,32}$/;
const DESCRIPTION_MAX_CHARS = 127;
const ATTACH_MAX_CHARS = 128;
const CODE_URL_TOKEN_CHARS = 9;
const CURRENCY = "CNY";

interface CreateInput {
  appid: string;
  mchid: string;
  description: string;
  outTradeNo: string;
  totalMinor: number;
  attach?: string;
  expireAtMs?: number;
}

const nonEmpty = (value: unknown): value is string => typeof value === "string" && value !== "";

/**
 * notify_url: absolute, no query string (WeChat refuses one). http is accepted besides https because
 * payguard runs on localhost in tests; its own health check insists on public https.
 */
function validNotifyUrl(value: unknown): boolean {
  if (!nonEmpty(value) || !URL.canParse(value)) return false;
  const url = new URL(value);
  return (url.protocol === "https:" || url.protocol === "http:") && url.search === "" && !value.includes("?");
}

export function readCreate(body: Record<string, unknown>): CreateInput | string {
  const { appid, mchid, description, out_trade_no: outTradeNo, notify_url: notifyUrl, attach } = body;
  const amount = (typeof body.amount === "object" && body.amount !== null ? body.amount : {}) as Record<
    string,
    unknown
  >;
  if (!nonEmpty(appid) || !nonEmpty(mchid)) return "appid and mchid are required";
  if (!nonEmpty(description) || description.length > DESCRIPTION_MAX_CHARS)
    return "description is required (≤ 127 chars)";
  if (typeof outTradeNo !== "string" || !OUT_TRADE_NO_PATTERN.test(outTradeNo))
    return "out_trade_no is invalid";
  if (!validNotifyUrl(notifyUrl)) return "notify_url must be an absolute URL without a query string";
  if (!Number.isSafeInteger(amount.total) || (amount.total as number) < 1)
    return "amount.total must be ≥ 1 (fen)";
  if (amount.currency !== undefined && amount.currency !== CURRENCY) return "amount.currency must be CNY";
  if (attach !== undefined && (typeof attach !== "string" || attach.length > ATTACH_MAX_CHARS))
    return "attach is invalid";
  const expireAtMs = typeof body.time_expire === "string" ? Date.parse(body.time_expire) : undefined;
  if (body.time_expire !== undefined && !Number.isFinite(expireAtMs)) return "time_expire must be RFC 3339";
  return { appid, mchid, description, outTradeNo, totalMinor: amount.total as number, attach, expireAtMs };
}

const codeUrl = (random: Random): string =>
  `weixin://wxpay/bizpayurl?pr=${randomId(random, "", CODE_URL_TOKEN_CHARS)}`;

/** Creating an existing out_trade_no again: same order, same code_url; different parameters, refused. */
function createAgain(context: OrdersApiContext, existing: OrderRecord, input: CreateInput): SandboxResponse {
  if (isPaid(existing)) return wechatError(400, "ORDERPAID", "该订单已支付");
  if (existing.tradeState === "CLOSED") return wechatError(400, "ORDER_CLOSED", "订单已关闭");
  const same =
    existing.amountMinor === input.totalMinor &&
    existing.description === input.description &&
    existing.appid === input.appid;
  if (!same) return wechatError(403, "OUT_TRADE_NO_USED", "商户订单号重复");
  existing.codeUrl ??= codeUrl(context.random);
  return json(200, { code_url: existing.codeUrl });
}

export function createNativeOrder(context: OrdersApiContext, request: SandboxRequest): SandboxResponse {
  const body = parseJsonObject(request.body);
  if (!body) return paramError("请求体不是合法的JSON对象");
  const input = readCreate(body);
  if (typeof input === "string") return paramError(input);
  if (input.mchid !== context.mchid) return paramError("mchid与请求的商户号不一致");
  if (input.appid !== context.appid) return wechatError(400, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配");
  const existing = context.state.orders.get(input.outTradeNo);
  if (existing) return createAgain(context, existing, input);
  const nowMs = context.clock();
  const order: OrderRecord = {
    outTradeNo: input.outTradeNo,
    appid: input.appid,
    mchid: input.mchid,
    description: input.description,
    attach: input.attach,
    amountMinor: input.totalMinor,
    currency: CURRENCY,
    createdAtMs: nowMs,
    expireAtMs: input.expireAtMs ?? nowMs + ORDER_EXPIRE_DEFAULT_MS,
    codeUrl: codeUrl(context.random),
    tradeType: "NATIVE",
    tradeState: "NOTPAY",
  };
  context.state.orders.set(order.outTradeNo, order);
  return json(200, { code_url: order.codeUrl });
}

export function queryOrder(
  context: OrdersApiContext,
  request: SandboxRequest,
  order: OrderRecord | undefined,
): SandboxResponse {
  const mchid = request.query.get("mchid");
  if (!mchid) return paramError("缺少参数mchid");
  if (mchid !== context.mchid) return paramError("mchid与请求的商户号不一致");
  if (!order) return wechatError(404, "ORDER_NOT_EXIST", "订单不存在");
  return json(200, transactionObject(order));
}

export function closeOrder(
  context: OrdersApiContext,
  request: SandboxRequest,
  outTradeNo: string,
): SandboxResponse {
  const body = parseJsonObject(request.body);
  if (!body || !nonEmpty(body.mchid)) return paramError("缺少参数mchid");
  if (body.mchid !== context.mchid) return paramError("mchid与请求的商户号不一致");
  const order = context.state.orders.get(outTradeNo);
  if (!order) return wechatError(404, "ORDER_NOT_EXIST", "订单不存在");
  if (isPaid(order)) return wechatError(400, "ORDERPAID", "订单已支付");
  order.tradeState = "CLOSED";
  return { status: 204 };
}
