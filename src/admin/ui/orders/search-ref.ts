/**
 * What an order search that found nothing was probably looking for: a provider reference the customer has
 * (Stripe `cs_…` / `pi_…` / `ch_…`, a WeChat Pay transaction id, an out_trade_no). A payment the provider has
 * while no order here does (a lost callback, a rolled-back order) is repaired from that reference, so the
 * list offers the runbook's repair dry run, prefilled. Pure.
 */
import { type RefKind, refKind } from "../../provider-refs.ts";

export type SearchRefKind = RefKind | "stripe_charge";

/** WeChat Pay's out_trade_no is 6 to 32 characters: longer text is no out_trade_no. */
const OUT_TRADE_NO_LENGTH_MAX = 32;
const STRIPE_CHARGE_PATTERN = /^(ch|py)_[A-Za-z0-9]{6,64}$/;

/** The kind of provider reference `query` looks like, or null (a user id, free text). */
export function searchRefKind(query: string): SearchRefKind | null {
  if (STRIPE_CHARGE_PATTERN.test(query)) return "stripe_charge";
  const kind = refKind(query);
  if (kind === "wechat_out_trade_no" && query.length > OUT_TRADE_NO_LENGTH_MAX) return null;
  return kind;
}

/** The runbook's repair form with this reference prefilled (it reads `repair_ref`). */
export const repairDryRunHref = (ref: string) =>
  `/admin/runbook?repair_ref=${encodeURIComponent(ref)}#repair-form`;
