/**
 * From a provider reference alone to what the provider says about that payment, as a fact payguard can
 * settle: a Stripe Checkout Session (`cs_…`, retrieved) or PaymentIntent (`pi_…`, the session listed by
 * `payment_intent`), a WeChat Pay `transaction_id` (digits only, queried by id) or an `out_trade_no`
 * (queried by it). Our secret key / merchant signature makes the answer trusted provider data. A Stripe
 * invoice (`in_…`) or subscription (`sub_…`) is no payment of an order: src/admin/billing-refs.ts reads those.
 */
import type Stripe from "stripe";
import type { ProviderBudget } from "../budget/budget.ts";
import type { Deps } from "../deps.ts";
import { err, type InfraError, ok, type Result } from "../ledger/result.ts";
import type { PaymentFact, Provider } from "../ledger/types.ts";
import { stripeClientFor, wechatClientFor } from "../providers/registry.ts";
import { retrieveSession, SESSION_EXPAND, sessionFact, toInfraError } from "../providers/stripe/client.ts";
import type { WechatClient } from "../providers/wechatpay/client.ts";
import { transactionFact } from "../providers/wechatpay/notify.ts";

export type PaymentRefKind =
  | "stripe_session"
  | "stripe_payment_intent"
  | "wechat_transaction"
  | "wechat_out_trade_no";
/** A subscription's invoice, or the subscription itself. */
export type BillingRefKind = "stripe_invoice" | "stripe_subscription";
export type RefKind = PaymentRefKind | BillingRefKind;

export const isBillingKind = (kind: RefKind): kind is BillingRefKind =>
  kind === "stripe_invoice" || kind === "stripe_subscription";

const REF_PATTERN = /^[A-Za-z0-9_*|-]{6,64}$/;
const WECHAT_TRANSACTION_PATTERN = /^\d{16,40}$/;

export function refKind(ref: string): RefKind | null {
  if (!REF_PATTERN.test(ref)) return null;
  if (ref.startsWith("cs_")) return "stripe_session";
  if (ref.startsWith("pi_")) return "stripe_payment_intent";
  // payguard's own order ids (out_trade_no) start with `ord_`, so these prefixes are Stripe's alone.
  if (ref.startsWith("in_")) return "stripe_invoice";
  if (ref.startsWith("sub_")) return "stripe_subscription";
  if (WECHAT_TRANSACTION_PATTERN.test(ref)) return "wechat_transaction";
  return "wechat_out_trade_no";
}

export const providerOf = (kind: RefKind): Provider => (kind.startsWith("stripe") ? "stripe" : "wechatpay");

/**
 * What the provider said: nothing under that reference, or a fact. `orderId` of a Stripe fact is the
 * order the session claims (client_reference_id / metadata); the caller prefers the order that stored
 * the session. `rateLimited` is a 429 the limiter may wait out.
 */
export type RefAnswer =
  | { found: false }
  | { found: true; fact: PaymentFact; sessionId: string | null; claimedOrderId: string | null };
export type RefResult = Result<RefAnswer, InfraError & { rateLimited?: boolean }>;

const notFound: RefResult = ok({ found: false });
const limited = (error: InfraError & { status?: number }) => ({
  ...error,
  rateLimited: error.status === 429,
});

function sessionAnswer(session: Stripe.Checkout.Session, nowMs: number): RefAnswer {
  const claimedOrderId = session.client_reference_id ?? session.metadata?.order_id ?? null;
  const pending = { kind: "pending" as const, provider: "stripe" as const, orderId: claimedOrderId ?? "" };
  const draft = sessionFact(session, nowMs);
  const fact = draft ? ({ ...draft, orderId: claimedOrderId ?? "" } as PaymentFact) : pending;
  return { found: true, fact, sessionId: session.id, claimedOrderId };
}

async function lookupStripe(
  stripe: Stripe,
  ref: string,
  kind: PaymentRefKind,
  nowMs: number,
): Promise<RefResult> {
  try {
    if (kind === "stripe_session") {
      return ok(sessionAnswer(await retrieveSession(stripe, ref), nowMs));
    }
    const expand = SESSION_EXPAND.map((path) => `data.${path}`);
    const listed = await stripe.checkout.sessions.list({ payment_intent: ref, limit: 1, expand });
    const session = listed.data[0];
    return session ? ok(sessionAnswer(session, nowMs)) : notFound;
  } catch (error) {
    const infra = toInfraError(error);
    return infra.status === 404 ? notFound : err(limited(infra));
  }
}

async function lookupWechat(
  deps: Deps,
  client: WechatClient,
  ref: string,
  kind: PaymentRefKind,
): Promise<RefResult> {
  const config = deps.config.wechat;
  if (!config)
    return err({ kind: "permanent", code: "not_configured", message: "wechatpay is not configured" });
  const answer =
    kind === "wechat_transaction" ? await client.queryByTransactionId(ref) : await client.queryOrder(ref);
  if (!answer.ok) return answer.error.code === "ORDER_NOT_EXIST" ? notFound : err(limited(answer.error));
  const fact = transactionFact(answer.value, config);
  if (!fact)
    return err({
      kind: "permanent",
      code: "MALFORMED_TRANSACTION",
      message: "query answer has no usable state",
    });
  return ok({ found: true, fact, sessionId: null, claimedOrderId: fact.orderId });
}

export type RefLookup = (ref: string, kind: PaymentRefKind, nowMs: number) => Promise<RefResult>;

/**
 * One lookup function over the configured providers, each call taking its token from `budget`; a
 * provider that is not configured is refused.
 */
export function refLookup(deps: Deps, budget: ProviderBudget): RefLookup {
  const stripe = stripeClientFor(deps, budget);
  const wechat = wechatClientFor(deps, budget);
  return async (ref, kind, nowMs) => {
    if (providerOf(kind) === "stripe") {
      return stripe
        ? lookupStripe(stripe, ref, kind, nowMs)
        : err({ kind: "permanent", code: "not_configured", message: "stripe is not configured" });
    }
    return wechat
      ? lookupWechat(deps, wechat, ref, kind)
      : err({ kind: "permanent", code: "not_configured", message: "wechatpay is not configured" });
  };
}
