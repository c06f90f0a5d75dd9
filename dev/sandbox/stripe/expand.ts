// `expand[]` as Stripe applies it to an answer: each dotted path names fields holding an id, replaced
// by the object with that id (`payment_intent.latest_charge`: the session's PaymentIntent, and in it
// that intent's charge; `data.` first for a list; `payment.payment_intent` passes through a plain
// sub-object on the way). The stored objects are never changed, only the copy answered. A path ending
// on a field that cannot be expanded is refused with Stripe's 400.
import type { SandboxResponse } from "../http.ts";
import { invalidParam } from "./errors.ts";
import { type FormObject, formList } from "./form.ts";
import { type StripeState, snapshot } from "./state.ts";

type Lookup = (state: StripeState, id: string) => object | undefined;

/** The expandable fields of the objects the sandbox serves, by field name. */
const EXPANDABLE: Record<string, Lookup> = {
  payment_intent: (state, id) => state.paymentIntents.get(id),
  latest_charge: (state, id) => state.charges.get(id),
  charge: (state, id) => state.charges.get(id),
  customer: (state, id) => state.customers.get(id),
  subscription: (state, id) => state.subscriptions.get(id),
  invoice: (state, id) => state.invoices.get(id),
  latest_invoice: (state, id) => state.invoices.get(id),
  price: (state, id) => state.prices.get(id),
  product: (state, id) => state.products.get(id),
};

/** Stripe expands at most four levels deep. */
const EXPAND_DEPTH_MAX = 4;

type Node = Record<string, unknown>;
const isNode = (value: unknown): value is Node => typeof value === "object" && value !== null;

/** Expands one path in place (in the copy); answers the field that cannot be expanded, if any. */
function expandPath(state: StripeState, node: Node, fields: string[]): string | null {
  const [field, ...rest] = fields;
  if (field === undefined) return null;
  if (field === "data" && Array.isArray(node.data)) {
    for (const item of node.data.filter(isNode)) {
      const refused = expandPath(state, item, rest);
      if (refused) return refused;
    }
    return null;
  }
  const lookup = EXPANDABLE[field];
  if (!lookup) {
    const inner = node[field];
    return isNode(inner) && !Array.isArray(inner) && rest.length > 0 ? expandPath(state, inner, rest) : field;
  }
  if (!(field in node)) return field;
  const value = node[field];
  if (typeof value === "string") node[field] = snapshot(lookup(state, value)) ?? value;
  const child = node[field];
  return isNode(child) ? expandPath(state, child, rest) : null;
}

/** The answer with the request's `expand[]` applied, or Stripe's error for the first path it refuses. */
export function withExpansions(
  state: StripeState,
  form: FormObject,
  answer: object,
): object | SandboxResponse {
  const paths = (formList(form.expand) ?? []).filter((path): path is string => typeof path === "string");
  if (paths.length === 0) return answer;
  const copy = snapshot(answer) as Node;
  for (const path of paths) {
    const fields = path.split(".");
    const refused = fields.length > EXPAND_DEPTH_MAX ? path : expandPath(state, copy, fields);
    if (refused)
      return invalidParam("expand", `This property cannot be expanded (${refused}).`, "parameter_invalid");
  }
  return copy;
}
