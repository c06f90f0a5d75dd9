// `/_control/stripe/*` for Stripe Billing: `price` defines a price under a chosen id (seeds and tests),
// `subscription/renew` ends a subscription's period now (its renewal invoice paid, or declined with
// `outcome: "failed"`), `invoice/pay` collects an open invoice again, `subscriptions` lists every
// subscription the sandbox holds.
import { badRequest, type ControlBody, type ControlDeps, type ControlRoute, emitting } from "./control.ts";
import { json } from "./http.ts";

const str = (value: unknown): string | undefined =>
  typeof value === "string" && value !== "" ? value : undefined;

function outcomeOf(body: ControlBody): "paid" | "failed" | null {
  const outcome = body.outcome ?? "paid";
  return outcome === "paid" || outcome === "failed" ? outcome : null;
}

function price(deps: ControlDeps, body: ControlBody) {
  const id = str(body.id);
  const currency = str(body.currency)?.toLowerCase();
  if (!id || !Number.isSafeInteger(body.unitAmount) || !currency)
    return badRequest("id, unitAmount (minor units) and currency are required");
  const interval = body.interval;
  if (interval !== undefined && typeof interval !== "string")
    return badRequest('interval must be "day", "week", "month" or "year" (absent: a one-time price)');
  const intervalCount = body.intervalCount;
  if (intervalCount !== undefined && !Number.isSafeInteger(intervalCount))
    return badRequest("intervalCount must be an integer");
  return emitting(deps, body, () =>
    deps.stripe.definePrice({
      id,
      unitAmount: body.unitAmount as number,
      currency,
      interval,
      intervalCount: intervalCount as number | undefined,
      productName: str(body.productName),
    }),
  );
}

function renew(deps: ControlDeps, body: ControlBody) {
  const subscriptionId = str(body.subscriptionId);
  const outcome = outcomeOf(body);
  if (!subscriptionId || !outcome)
    return badRequest('subscriptionId is required; outcome is "paid" (default) or "failed"');
  return emitting(deps, body, () => deps.stripe.renew({ subscriptionId, outcome }));
}

function payInvoice(deps: ControlDeps, body: ControlBody) {
  const invoiceId = str(body.invoiceId);
  const outcome = outcomeOf(body);
  if (!invoiceId || !outcome)
    return badRequest('invoiceId is required; outcome is "paid" (default) or "failed"');
  return emitting(deps, body, () => deps.stripe.payInvoice({ invoiceId, outcome }));
}

export function stripeBillingControlRoutes(deps: ControlDeps): ControlRoute[] {
  return [
    { method: "POST", path: "/_control/stripe/price", run: (body) => price(deps, body) },
    { method: "POST", path: "/_control/stripe/subscription/renew", run: (body) => renew(deps, body) },
    { method: "POST", path: "/_control/stripe/invoice/pay", run: (body) => payInvoice(deps, body) },
    {
      method: "GET",
      path: "/_control/stripe/subscriptions",
      run: () => json(200, { subscriptions: [...deps.stripe.state.subscriptions.values()] }),
    },
  ];
}
