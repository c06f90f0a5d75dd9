// The subscription routes but the update (subscription-update.ts): `GET /v1/subscriptions/:id`,
// `GET /v1/subscriptions?customer=&price=&status=` (newest first; without `status` the ones not canceled,
// as on Stripe; `all` every one), and `DELETE /v1/subscriptions/:id`, which cancels at once without a
// final invoice (`invoice_now` and `prorate` are refused) and emits `customer.subscription.deleted`.
import type { SandboxResponse } from "../http.ts";
import type { Subscription } from "./billing-types.ts";
import { invalidParam, missingResource, stripeError } from "./errors.ts";
import { withExpansions } from "./expand.ts";
import { type FormObject, formObject, formString } from "./form.ts";
import { isResponse } from "./handler.ts";
import { pageList } from "./lists.ts";
import type { StripeContext } from "./state.ts";
import { cancelNow } from "./subscriptions.ts";

const LIST_STATUSES = new Set([
  "active",
  "all",
  "canceled",
  "ended",
  "incomplete",
  "incomplete_expired",
  "past_due",
  "paused",
  "trialing",
  "unpaid",
]);

export function getSubscription(
  context: StripeContext,
  form: FormObject,
  id: string,
): object | SandboxResponse {
  const subscription = context.state.subscriptions.get(id);
  return subscription
    ? withExpansions(context.state, form, subscription)
    : missingResource("subscription", id, "id");
}

/** Without `status`, Stripe lists the subscriptions that are not canceled; `all` lists every one. */
function statusFilter(status: string | undefined): (subscription: Subscription) => boolean {
  if (status === undefined) return (subscription) => subscription.status !== "canceled";
  if (status === "all") return () => true;
  if (status === "ended") return (subscription) => subscription.status === "canceled";
  return (subscription) => subscription.status === status;
}

export function listSubscriptions(context: StripeContext, form: FormObject): object | SandboxResponse {
  const customer = formString(form.customer);
  const price = formString(form.price);
  const status = formString(form.status);
  if (status !== undefined && !LIST_STATUSES.has(status))
    return invalidParam(
      "status",
      `Invalid status: must be one of ${[...LIST_STATUSES].join(", ")}`,
      "parameter_invalid",
    );
  const byStatus = statusFilter(status);
  const page = pageList(form, {
    newestFirst: [...context.state.subscriptions.values()].reverse(),
    matches: (subscription) =>
      byStatus(subscription) &&
      (customer === undefined || subscription.customer === customer) &&
      (price === undefined || subscription.items.data.some((item) => item.price.id === price)),
    url: "/v1/subscriptions",
    objectName: "subscription",
  });
  return isResponse(page) ? page : withExpansions(context.state, form, page);
}

/** `DELETE /v1/subscriptions/:id`: canceled now, without a final invoice or prorations. */
export function cancelSubscriptionRoute(
  context: StripeContext,
  form: FormObject,
  id: string,
): object | SandboxResponse {
  const subscription = context.state.subscriptions.get(id);
  if (!subscription) return missingResource("subscription", id, "id");
  for (const param of ["invoice_now", "prorate"])
    if (formString(form[param]) === "true")
      return invalidParam(
        param,
        `This sandbox cancels without a final invoice: \`${param}=true\` is not simulated.`,
        "parameter_invalid",
      );
  if (subscription.status === "canceled")
    return stripeError({
      status: 400,
      type: "invalid_request_error",
      message: `The subscription ${id} is already canceled.`,
    });
  const details = formObject(form.cancellation_details);
  cancelNow(context, subscription, {
    comment: formString(details?.comment),
    feedback: formString(details?.feedback),
  });
  return withExpansions(context.state, form, subscription);
}
