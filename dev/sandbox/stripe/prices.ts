// Products and prices, what subscriptions are made of: `POST /v1/prices` (unit_amount, currency,
// recurring[interval|interval_count], product or product_data[name]), `GET /v1/prices/:id`,
// `GET /v1/products/:id`, and a price defined under an id of the caller's choosing, for seeds and tests
// (`/_control/stripe/price`). Prices are immutable, as on Stripe: defining an id again with other terms
// is refused.
import type { SandboxResponse } from "../http.ts";
import type { Plan, Price, Product, Recurring, RecurringInterval } from "./billing-types.ts";
import { invalidParam, stripeError } from "./errors.ts";
import { type FormObject, formObject, formString, formStringMap } from "./form.ts";
import { newId, nowSeconds, type StripeContext } from "./state.ts";

const INTERVALS: readonly RecurringInterval[] = ["day", "week", "month", "year"];
/** Stripe bills at most every three years: 3 years, 36 months, 156 weeks or 1095 days. */
const INTERVAL_COUNT_MAX: Record<RecurringInterval, number> = { day: 1095, week: 156, month: 36, year: 3 };

export const PRODUCT_NAME_DEFAULT = "Sandbox plan";

export interface NewPrice {
  id?: string;
  unitAmount: number;
  currency: string;
  /** Absent: a one-time price. */
  interval?: string;
  intervalCount?: number;
  product?: string;
  productName?: string;
  metadata?: Record<string, string>;
}

type Refusal = { param: string; message: string; code?: string };

function newProduct(context: StripeContext, name: string): Product {
  const created = nowSeconds(context);
  const product: Product = {
    id: newId(context, "prod_"),
    object: "product",
    active: true,
    created,
    description: null,
    livemode: false,
    metadata: {},
    name,
    type: "service",
    updated: created,
  };
  context.state.products.set(product.id, product);
  return product;
}

function recurringOf(input: NewPrice): Recurring | null | Refusal {
  if (input.interval === undefined) return null;
  const interval = INTERVALS.find((candidate) => candidate === input.interval);
  if (!interval)
    return {
      param: "recurring[interval]",
      message: `Invalid recurring[interval]: must be one of ${INTERVALS.join(", ")}`,
    };
  const count = input.intervalCount ?? 1;
  if (!Number.isSafeInteger(count) || count < 1 || count > INTERVAL_COUNT_MAX[interval])
    return {
      param: "recurring[interval_count]",
      message: "The maximum billing interval is three years (3 years, 36 months, or 156 weeks).",
    };
  return { interval, interval_count: count, meter: null, trial_period_days: null, usage_type: "licensed" };
}

function validate(context: StripeContext, input: NewPrice): Refusal | { recurring: Recurring | null } {
  if (!Number.isSafeInteger(input.unitAmount) || input.unitAmount < 0)
    return {
      param: "unit_amount",
      message: "Invalid non-negative integer",
      code: "parameter_invalid_integer",
    };
  if (!/^[a-z]{3}$/.test(input.currency))
    return { param: "currency", message: `Invalid currency: ${input.currency}`, code: "parameter_invalid" };
  if (input.product !== undefined && !context.state.products.has(input.product))
    return { param: "product", message: `No such product: '${input.product}'`, code: "resource_missing" };
  const recurring = recurringOf(input);
  return recurring !== null && "param" in recurring ? recurring : { recurring };
}

export function createPrice(context: StripeContext, input: NewPrice): Price | Refusal {
  const checked = validate(context, input);
  if ("param" in checked) return checked;
  const product = input.product ?? newProduct(context, input.productName ?? PRODUCT_NAME_DEFAULT).id;
  const price: Price = {
    id: input.id ?? newId(context, "price_"),
    object: "price",
    active: true,
    billing_scheme: "per_unit",
    created: nowSeconds(context),
    currency: input.currency,
    custom_unit_amount: null,
    livemode: false,
    lookup_key: null,
    metadata: input.metadata ?? {},
    nickname: null,
    product,
    recurring: checked.recurring,
    tax_behavior: "unspecified",
    tiers_mode: null,
    transform_quantity: null,
    type: checked.recurring ? "recurring" : "one_time",
    unit_amount: input.unitAmount,
    unit_amount_decimal: String(input.unitAmount),
  };
  context.state.prices.set(price.id, price);
  return price;
}

const sameTerms = (price: Price, input: NewPrice): boolean =>
  price.unit_amount === input.unitAmount &&
  price.currency === input.currency &&
  (price.recurring?.interval ?? undefined) === input.interval &&
  (price.recurring?.interval_count ?? 1) === (input.intervalCount ?? 1);

/** A price under a chosen id: the same terms again answer the same price; other terms are refused. */
export function definePrice(
  context: StripeContext,
  input: NewPrice & { id: string },
): { price: Price } | { error: string; conflict: boolean } {
  const existing = context.state.prices.get(input.id);
  if (existing)
    return sameTerms(existing, input)
      ? { price: existing }
      : { error: `price ${input.id} exists with other terms; prices are immutable`, conflict: true };
  const price = createPrice(context, input);
  return "param" in price ? { error: `${price.param}: ${price.message}`, conflict: false } : { price };
}

export function createPriceFromForm(context: StripeContext, form: FormObject): Price | SandboxResponse {
  const unitAmount = formString(form.unit_amount);
  if (unitAmount === undefined)
    return invalidParam("unit_amount", "Missing required param: unit_amount.", "parameter_missing");
  const currency = formString(form.currency)?.toLowerCase();
  if (!currency) return invalidParam("currency", "Missing required param: currency.", "parameter_missing");
  const product = formString(form.product);
  const productName = formString(formObject(form.product_data)?.name);
  if (!product && !productName)
    return invalidParam("product", "Missing required param: product.", "parameter_missing");
  const recurring = formObject(form.recurring);
  const countRaw = formString(recurring?.interval_count);
  const price = createPrice(context, {
    unitAmount: Number(unitAmount),
    currency,
    interval: recurring ? (formString(recurring.interval) ?? "") : undefined,
    intervalCount: countRaw === undefined ? undefined : Number(countRaw),
    product,
    productName,
    metadata: formStringMap(form.metadata),
  });
  if (!("param" in price)) return price;
  return stripeError({
    status: 400,
    type: "invalid_request_error",
    code: price.code ?? "parameter_invalid",
    message: price.message,
    param: price.param,
  });
}

export const productName = (context: StripeContext, price: Price): string =>
  context.state.products.get(price.product)?.name ?? PRODUCT_NAME_DEFAULT;

/** The legacy `plan` view of a recurring price. */
export function planOf(price: Price, recurring: Recurring): Plan {
  return {
    id: price.id,
    object: "plan",
    active: true,
    amount: price.unit_amount,
    amount_decimal: price.unit_amount_decimal,
    billing_scheme: "per_unit",
    created: price.created,
    currency: price.currency,
    interval: recurring.interval,
    interval_count: recurring.interval_count,
    livemode: false,
    metadata: price.metadata,
    meter: null,
    nickname: null,
    product: price.product,
    tiers_mode: null,
    transform_usage: null,
    trial_period_days: null,
    usage_type: "licensed",
  };
}
