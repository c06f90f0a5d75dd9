// What one Stripe API route is: a method, a path pattern whose first group is the object id, and a
// handler answering a Stripe object (served as 200 JSON) or a ready error response. Shared by the route
// tables of api.ts and billing-routes.ts.
import type { SandboxResponse } from "../http.ts";
import type { FormObject } from "./form.ts";
import type { StripeContext } from "./state.ts";

export type Handler = (context: StripeContext, form: FormObject, id: string) => SandboxResponse | object;

export interface Route {
  method: string;
  pattern: RegExp;
  handler: Handler;
}

/** Stripe objects never carry a numeric `status`; a handler's error answer always does. */
export const isResponse = (value: SandboxResponse | object): value is SandboxResponse =>
  typeof (value as { status?: unknown }).status === "number";
