// Stripe's list answer for the Billing list endpoints (subscriptions, invoices, invoice payments): newest
// first, `limit` (1–100, default 10), cursor paging with `starting_after` / `ending_before` as
// `events.list` pages, `has_more`. A cursor that names no object of the listed kind is Stripe's 404 on
// that parameter.
import type { SandboxResponse } from "../http.ts";
import { invalidParam, missingResource } from "./errors.ts";
import { type FormObject, formString } from "./form.ts";
import type { StripeList } from "./types.ts";

export const LIST_LIMIT_DEFAULT = 10;
export const LIST_LIMIT_MAX = 100;

export interface ListRequest<T> {
  /** Every object of the kind, newest first: cursors are looked up here, before filtering. */
  newestFirst: readonly T[];
  matches: (item: T) => boolean;
  url: string;
  /** Stripe's name of the kind in a missing-cursor error ("invoice", "subscription", ...). */
  objectName: string;
}

export function pageList<T extends { id: string }>(
  form: FormObject,
  request: ListRequest<T>,
): StripeList<T> | SandboxResponse {
  const limitRaw = formString(form.limit);
  const limit = limitRaw === undefined ? LIST_LIMIT_DEFAULT : Number(limitRaw);
  if (!Number.isInteger(limit) || limit < 1 || limit > LIST_LIMIT_MAX)
    return invalidParam(
      "limit",
      `Invalid integer: ${limitRaw}; must be between 1 and ${LIST_LIMIT_MAX}`,
      "parameter_invalid_integer",
    );
  const startingAfter = formString(form.starting_after);
  const endingBefore = formString(form.ending_before);
  const cursor = startingAfter ?? endingBefore;
  const param = startingAfter !== undefined ? "starting_after" : "ending_before";
  const at = cursor === undefined ? -1 : request.newestFirst.findIndex((item) => item.id === cursor);
  if (cursor !== undefined && at < 0) return missingResource(request.objectName, cursor, param);
  let data: T[];
  let hasMore: boolean;
  if (endingBefore !== undefined && startingAfter === undefined) {
    const newer = request.newestFirst.slice(0, at).filter(request.matches);
    data = newer.slice(Math.max(0, newer.length - limit));
    hasMore = newer.length > limit;
  } else {
    const older = request.newestFirst.slice(at + 1).filter(request.matches);
    data = older.slice(0, limit);
    hasMore = older.length > limit;
  }
  return { object: "list", data, has_more: hasMore, url: request.url };
}
