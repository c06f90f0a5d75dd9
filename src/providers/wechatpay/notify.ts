/**
 * WeChat Pay notification → what payguard should do. Verify first (signature, time window, key), only
 * then parse and decrypt; a notification that fails any step is rejected whole and nothing is read
 * from it. Pure apart from WebCrypto: config, headers, raw body and `nowMs` in, a verdict out.
 */
import type { IncidentInput } from "../../ledger/ports.ts";
import type { OrderMetadata, PaymentFact } from "../../ledger/types.ts";
import { decryptResource } from "./cipher.ts";
import type { WechatConfig } from "./settings.ts";
import { type SignatureRejection, type SignedHeaders, verifyWechatSignature } from "./signature.ts";

/** WeChat Pay (domestic) settles in fen; refund notifications carry no currency field. */
const WECHATPAY_CURRENCY = "CNY";

export type WechatNotice =
  | { kind: "fact"; eventId: string; eventType: string; fact: PaymentFact }
  | { kind: "incident"; eventId: string; eventType: string; orderId: string; incident: IncidentInput }
  | { kind: "ignored"; eventId: string; eventType: string; reason: string };

export type WechatRejection = SignatureRejection | "malformed_json" | "decrypt_failed" | "malformed_resource";

type Obj = Record<string, unknown>;
const isObj = (value: unknown): value is Obj =>
  typeof value === "object" && value !== null && !Array.isArray(value);
const str = (value: unknown): string | null => (typeof value === "string" && value !== "" ? value : null);
const int = (value: unknown): number | null => (Number.isSafeInteger(value) ? (value as number) : null);

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The `attach` payguard wrote at prepay: user and package to rebuild a lost order, and the order id. */
function metadataOf(attach: unknown): OrderMetadata | undefined {
  const parsed = typeof attach === "string" ? parseJson(attach) : undefined;
  if (!isObj(parsed)) return undefined;
  const fields: OrderMetadata = {
    userId: str(parsed.user_id) ?? undefined,
    packageId: str(parsed.package_id) ?? undefined,
    orderId: str(parsed.order_id) ?? undefined,
  };
  const present = Object.entries(fields).filter(([, value]) => value !== undefined);
  return present.length ? (Object.fromEntries(present) as OrderMetadata) : undefined;
}

/** A transaction resource (query answer or TRANSACTION.SUCCESS) as a fact about our order. */
export function transactionFact(
  tx: unknown,
  config: Pick<WechatConfig, "mchid" | "appid">,
): PaymentFact | null {
  if (!isObj(tx)) return null;
  const orderId = str(tx.out_trade_no);
  if (!orderId) return null;
  if (tx.mchid !== config.mchid || tx.appid !== config.appid) {
    return {
      kind: "mismatch",
      provider: "wechatpay",
      orderId,
      reason: "notification for another merchant or app",
    };
  }
  const amount = isObj(tx.amount) ? tx.amount : {};
  const amountMinor = int(amount.total);
  const paymentRef = str(tx.transaction_id);
  const paidAtMs = Date.parse(str(tx.success_time) ?? "");
  const state = tx.trade_state;
  if (
    (state === "SUCCESS" || state === "REFUND") &&
    paymentRef &&
    amountMinor !== null &&
    Number.isFinite(paidAtMs)
  ) {
    const currency = (str(amount.currency) ?? WECHATPAY_CURRENCY).toUpperCase();
    return {
      kind: "paid",
      provider: "wechatpay",
      orderId,
      paymentRef,
      amountMinor,
      currency,
      paidAtMs,
      metadata: metadataOf(tx.attach),
      // Paid, then (partly) refunded at WeChat: settled now; an incident stays open until the refund fact arrives.
      ...(state === "REFUND" ? { refundedAtProvider: true } : {}),
    };
  }
  if (state === "NOTPAY" || state === "USERPAYING" || state === "ACCEPT")
    return { kind: "pending", provider: "wechatpay", orderId };
  if (state === "CLOSED" || state === "REVOKED") return { kind: "expired", provider: "wechatpay", orderId };
  if (state === "PAYERROR") return { kind: "failed", provider: "wechatpay", orderId, reason: "PAYERROR" };
  return null;
}

function refundNotice(
  eventId: string,
  eventType: string,
  refund: Obj,
  config: Pick<WechatConfig, "mchid">,
): WechatNotice | null {
  const orderId = str(refund.out_trade_no);
  const refundRef = str(refund.refund_id);
  const amount = isObj(refund.amount) ? refund.amount : {};
  const amountMinor = int(amount.refund);
  if (!orderId || !refundRef || amountMinor === null) return null;
  if (refund.mchid !== config.mchid) {
    const reason = "refund notification for another merchant";
    return {
      kind: "fact",
      eventId,
      eventType,
      fact: { kind: "mismatch", provider: "wechatpay", orderId, reason },
    };
  }
  if (eventType === "REFUND.SUCCESS") {
    const refundedAtMs = Date.parse(str(refund.success_time) ?? "");
    return {
      kind: "fact",
      eventId,
      eventType,
      fact: {
        kind: "refunded",
        provider: "wechatpay",
        orderId,
        paymentRef: str(refund.transaction_id),
        refundRef,
        amountMinor,
        currency: WECHATPAY_CURRENCY,
        refundedAtMs: Number.isFinite(refundedAtMs) ? refundedAtMs : 0,
      },
    };
  }
  const incident: IncidentInput = {
    key: `refund_${eventType === "REFUND.ABNORMAL" ? "abnormal" : "closed"}:${refundRef}`,
    kind: eventType === "REFUND.ABNORMAL" ? "refund_abnormal" : "refund_closed",
    severity: eventType === "REFUND.ABNORMAL" ? "critical" : "warning",
    summary: `WeChat Pay refund ${refundRef} for order ${orderId}: ${eventType}`,
    detail: {
      order_id: orderId,
      refund_id: refundRef,
      amount_minor: amountMinor,
      status: refund.refund_status ?? null,
    },
  };
  return { kind: "incident", eventId, eventType, orderId, incident };
}

function noticeFor(
  eventId: string,
  eventType: string,
  resource: unknown,
  config: WechatConfig,
): WechatNotice | null {
  if (eventType === "TRANSACTION.SUCCESS") {
    const fact = transactionFact(resource, config);
    if (!fact) return null;
    if (fact.kind !== "paid" && fact.kind !== "mismatch") {
      return { kind: "ignored", eventId, eventType, reason: `trade_state is not SUCCESS (${fact.kind})` };
    }
    return { kind: "fact", eventId, eventType, fact };
  }
  if (eventType.startsWith("REFUND."))
    return isObj(resource) ? refundNotice(eventId, eventType, resource, config) : null;
  return { kind: "ignored", eventId, eventType, reason: `unhandled event type ${eventType}` };
}

export async function parseWechatNotification(
  input: { headers: SignedHeaders; rawBody: string; nowMs: number },
  config: WechatConfig,
): Promise<{ ok: true; notice: WechatNotice } | { ok: false; reason: WechatRejection }> {
  const verified = await verifyWechatSignature(input.headers, input.rawBody, config.verifyKeys, input.nowMs);
  if (!verified.ok) return verified;
  const body = parseJson(input.rawBody);
  if (!isObj(body)) return { ok: false, reason: "malformed_json" };
  const eventId = str(body.id);
  const eventType = str(body.event_type);
  const resource = isObj(body.resource) ? body.resource : null;
  const ciphertext = str(resource?.ciphertext);
  const nonce = str(resource?.nonce);
  if (!eventId || !eventType || !ciphertext || !nonce || resource?.algorithm !== "AEAD_AES_256_GCM") {
    return { ok: false, reason: "malformed_json" };
  }
  const associatedData = typeof resource.associated_data === "string" ? resource.associated_data : "";
  const plaintext = await decryptResource({ ciphertext, nonce, associatedData }, config.apiV3Key);
  if (plaintext === null) return { ok: false, reason: "decrypt_failed" };
  const notice = noticeFor(eventId, eventType, parseJson(plaintext), config);
  return notice ? { ok: true, notice } : { ok: false, reason: "malformed_resource" };
}
