/**
 * The sales switch: pause (or resume) new checkouts for one package or for all. Only `checkout_begin`
 * reads it; webhooks, reconcile, the success page and repairs settle orders of a paused package as
 * before, so a customer who already paid is still credited. Every switch is an attributed admin action.
 */
import { type ActionContext, type ActionResult, actionFailure, perform } from "./actions.ts";

/** The scope that pauses every package. */
export const ALL_PACKAGES = "*";

export function setSalesPause(ctx: ActionContext, scope: string, paused: boolean): Promise<ActionResult> {
  return perform(ctx, { action: paused ? "pause_sales" : "resume_sales", target: scope }, async () => {
    const set = await ctx.deps.runbook.setSalesPause({
      scope,
      paused,
      actor: ctx.actor,
      reason: ctx.reason,
      nowMs: ctx.nowMs,
    });
    if (!set.ok) {
      // The function refuses a scope that names no package (P0001): that package is not found.
      const refused = set.error.kind === "permanent" && set.error.code === "P0001";
      const error = refused
        ? { kind: "not_found" as const, detail: set.error.message }
        : actionFailure(set.error);
      return { ok: false, error };
    }
    const outcome = set.value.changed
      ? paused
        ? "paused"
        : "resumed"
      : paused
        ? "already_paused"
        : "not_paused";
    return { ok: true, outcome, detail: { paused: set.value.paused.map((p) => p.scope) } };
  });
}
