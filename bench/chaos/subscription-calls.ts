/**
 * The calls a subscription's story makes, each retried as a client retries under the run's faults: the
 * plans set up (payguard's rows, the sandbox's prices), payguard's own subscribe checkout (`POST
 * /api/checkout` with a plan, as the signed-in user, one Idempotency-Key for every attempt), the merchant's
 * Stripe calls (a plan change, a cancellation: the sandbox's API faults apply to them as to payguard's),
 * and the sandbox's scenario steps, whose answers go into the subscription's trace (./trace.ts).
 */
import type { BenchStack } from "../lib/stack.ts";
import { sleep } from "./orders.ts";
import { CHAOS_PLANS, type ChaosPlan } from "./subscription-plan.ts";
import type { Trace } from "./trace.ts";

/** A call answered 5xx or 429, or not at all (a timeout fault), is tried again up to this many times. */
const CALL_ATTEMPTS_MAX = 10;
const CALL_RETRY_BASE_MS = 100;
/** The sandbox's 429 asks for a second (dev/sandbox/api-faults.ts API_FAULT_RETRY_AFTER_S). */
const RATE_LIMITED_WAIT_MS = 1_000;
/** Past the next whole second by this much, so this machine's and the sandbox's clocks agree on it. */
const SECOND_MARGIN_MS = 20;

export async function seedPlans(stack: BenchStack): Promise<void> {
  for (const [name, plan] of Object.entries(CHAOS_PLANS)) {
    await stack.standIn.query(
      `insert into payguard.credit_packages (id, name, amount_minor, currency, credits, active)
       values ($1, $2, $3, 'USD', $4, true) on conflict (id) do nothing`,
      [plan.id, `chaos ${name}`, plan.amountMinor, plan.credits],
    );
    await stack.standIn.query(
      `insert into payguard.credit_plans (package_id, price_ref, interval, expiry_policy)
       values ($1, $2, 'month', $3) on conflict do nothing`,
      [plan.id, plan.priceRef, plan.expiry],
    );
    await stack.control("stripe/price", {
      id: plan.priceRef,
      unitAmount: plan.amountMinor,
      currency: "usd",
      interval: "month",
      productName: `chaos ${name}`,
    });
  }
}

const transient = (status: number | null) => status === null || status === 429 || status >= 500;

/**
 * Calls `send` until it answers 2xx (the answer, with `attempts` added); a refusal (4xx but 429), or too many
 * failures, throws.
 */
async function retried(what: string, send: () => Promise<Response>): Promise<Record<string, unknown>> {
  for (let attempt = 1; ; attempt += 1) {
    const answer = await send().catch(() => null);
    const body = answer ? await answer.text() : "";
    if (answer?.ok) return { ...(JSON.parse(body) as Record<string, unknown>), attempts: attempt };
    const status = answer?.status ?? null;
    if (!transient(status) || attempt >= CALL_ATTEMPTS_MAX)
      throw new Error(`${what} answered ${status ?? "nothing"} (attempt ${attempt}): ${body.slice(0, 200)}`);
    await sleep(status === 429 ? RATE_LIMITED_WAIT_MS : CALL_RETRY_BASE_MS * attempt);
  }
}

/** A merchant's call to Stripe's API (the sandbox's `/v1`), form-encoded as Stripe takes it. */
export function stripeApi(
  stack: BenchStack,
  method: "GET" | "POST" | "DELETE",
  path: string,
  form?: Record<string, string>,
  idempotencyKey?: string,
): Promise<Record<string, unknown>> {
  const headers: Record<string, string> = { authorization: `Bearer ${stack.sandbox.stripe.secretKey}` };
  if (form) headers["content-type"] = "application/x-www-form-urlencoded";
  if (idempotencyKey) headers["idempotency-key"] = idempotencyKey;
  return retried(`${method} ${path}`, () =>
    fetch(`${stack.sandbox.url}${path}`, {
      method,
      headers,
      body: form ? new URLSearchParams(form).toString() : undefined,
    }),
  );
}

/** payguard's subscribe checkout for the user: the Checkout Session's id, and how many attempts it took. */
export async function subscribeCheckout(
  stack: BenchStack,
  userId: string,
  plan: ChaosPlan,
  idempotencyKey: string,
): Promise<{ sessionId: string; attempts: number }> {
  const token = await stack.standIn.userToken(userId);
  const answer = await retried("POST /api/checkout", () =>
    fetch(`${stack.workerUrl}/api/checkout`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": "application/json",
        "idempotency-key": idempotencyKey,
      },
      body: JSON.stringify({ planId: plan.id, provider: "stripe" }),
    }),
  );
  return { sessionId: String(answer.sessionId), attempts: Number(answer.attempts) };
}

/**
 * A sandbox scenario step, its answer traced under `key` with the events it emitted: those about what it
 * acts on and those about the payment underneath (`paymentEventIds`), so each is found again by its id.
 */
export async function sandboxStep(
  stack: BenchStack,
  trace: Trace,
  key: string,
  path: string,
  body: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const startedMs = Date.now();
  const {
    deliveries: _deliveries,
    paymentDeliveries: _paymentDeliveries,
    ...answer
  } = await stack.control<Record<string, unknown>>(path, body);
  const eventIds = [
    ...((answer.eventIds as string[] | undefined) ?? []),
    ...((answer.paymentEventIds as string[] | undefined) ?? []),
  ];
  const asked = body.amountMinor === undefined ? {} : { amountMinor: body.amountMinor };
  trace.step(key, path, { ...answer, ...asked, eventIds, tookMs: Date.now() - startedMs }, startedMs);
  return answer;
}

/**
 * Waits until this machine's clock (the sandbox's) is in a later whole second. Stripe dates an event to the
 * second and payguard keeps the newest report of a subscription by that date, so a step that changes the
 * subscription's state (a retry paying it, a plan change, a cancellation) must come a second after the last:
 * as it does at Stripe, where such steps are hours or days apart, not the milliseconds of this run.
 */
export const nextSecond = (): Promise<unknown> => sleep(1000 - (Date.now() % 1000) + SECOND_MARGIN_MS);

/** How often the pacer reads the sandbox's delivery backlog while it waits for it to shrink. */
const BACKLOG_POLL_MS = 100;

/**
 * Billing steps (a payment, a renewal, a retry, a plan change) across all subscriptions: at most
 * `perSecond`, and only while the sandbox holds at most `backlogMax` deliveries not yet answered
 * (in flight, scheduled for a retry, held or buffered). Stripe bills a month of renewals over the month; this
 * run bills it in minutes, on a machine whose worker the orders already keep busy, and a paid invoice costs
 * the worker several times an order event's work (its PaymentIntent looked up at Stripe by each delivery
 * and by the backfill). Billing faster than the worker answers would only time its deliveries out and
 * have them all sent again.
 */
export function createPacer(stack: BenchStack, perSecond: number, backlogMax: number): () => Promise<void> {
  let nextMs = 0;
  let reading: Promise<number> | null = null;
  const backlog = () => {
    reading ??= stack
      .control<{ pending: Record<string, number> }>("deliveries/pending")
      .then(({ pending }) => Object.values(pending).reduce((sum, n) => sum + n, 0))
      .finally(() => setTimeout(() => (reading = null), BACKLOG_POLL_MS));
    return reading;
  };
  return async () => {
    while ((await backlog()) > backlogMax) await sleep(BACKLOG_POLL_MS);
    const nowMs = Date.now();
    const atMs = Math.max(nowMs, nextMs);
    nextMs = atMs + 1000 / perSecond;
    await sleep(atMs - nowMs);
  };
}
