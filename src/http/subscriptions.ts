/**
 * `GET /api/subscriptions` (user token): the signed-in user's subscriptions, newest first, each with its
 * paid invoices and what each granted: what an app's "my plan" page and a subscribe success page poll
 * (a subscription has no order id to poll before its first invoice is paid). Status and amounts only.
 */
import { Hono } from "hono";
import { requireUser, type UserVariables } from "../auth/require-user.ts";
import type { UserSubscription } from "../db/subscription-store.ts";
import { getDeps } from "../deps.ts";
import { failureResponse, storeFailure } from "./errors.ts";

const publicView = (subscription: UserSubscription) => ({
  id: subscription.id,
  planId: subscription.package_id,
  planName: subscription.plan_name,
  status: subscription.status,
  currentPeriodStart: subscription.current_period_start,
  currentPeriodEnd: subscription.current_period_end,
  cancelAtPeriodEnd: subscription.cancel_at_period_end,
  invoices: subscription.invoices.map((invoice) => ({
    id: invoice.invoice_ref,
    billingReason: invoice.billing_reason,
    periodStart: invoice.period_start,
    periodEnd: invoice.period_end,
    amountPaidMinor: Number(invoice.amount_paid_minor),
    currency: invoice.currency,
    credits: invoice.credits,
    granted: Number(invoice.granted),
    expired: Number(invoice.expired),
    status: invoice.order_status,
  })),
});

export const subscriptionRoutes = new Hono<{ Bindings: Env; Variables: UserVariables }>().get(
  "/",
  requireUser,
  async (c) => {
    const found = await getDeps(c.env).subscriptions.ofUser(c.var.userId);
    if (!found.ok) return failureResponse(c, storeFailure(found.error));
    c.header("cache-control", "no-store");
    return c.json({ subscriptions: found.value.map(publicView) });
  },
);
