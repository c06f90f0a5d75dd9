/**
 * A subscription's state in the database: customer.subscription.* reports ordered by Stripe's time and the
 * period they state (an older one changes nothing; tied ones that disagree send the subscription to the
 * re-check), the plan following the newest report and never an invoice's metadata, and the re-check's lease
 * of a live subscription missing its period's invoice after the grace period. PGlite (and Postgres when
 * DATABASE_URL is set).
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LedgerDb, ledgerBackends } from "../support/node/ledger-db.ts";
import { DAY, iso, PLANS_SQL, subscriptionCalls, T0 } from "../support/node/subscription-sql.ts";

describe.each(ledgerBackends("subscription state SQL"))("subscription state on %s", (_name, open) => {
  let ledger: LedgerDb;
  beforeAll(async () => {
    ledger = await open();
    await ledger.db.exec(PLANS_SQL);
  });
  afterAll(() => ledger.close());
  const { settle, paid, fresh, period, basicLine } = subscriptionCalls(() => ledger);

  it("the newest subscription report wins; the re-check leases live subscriptions missing their period's invoice", async () => {
    const { user, sub, inv } = fresh();
    const state = (status: string, reportedAt: number, n: number) => ({
      kind: "subscription_state",
      provider: "stripe",
      subscription_ref: sub,
      status,
      reported_at: iso(reportedAt),
      ...Object.fromEntries(
        Object.entries(period(n)).map(([key, value]) => [
          key === "periodStart" ? "current_period_start" : "current_period_end",
          iso(value),
        ]),
      ),
      cancel_at_period_end: false,
      price_ref: "price_basic",
      metadata: { user_id: user, package_id: "basic" },
    });
    await settle(`evt_${randomUUID()}`, [state("active", T0 + 30 * DAY, 1)]);
    const stale = await settle(`evt_${randomUUID()}`, [state("incomplete", T0, 0)]);
    expect(stale.results?.[0]?.outcome).toBe("stale");
    await paid({
      invoice: inv(1),
      sub,
      user,
      reason: "subscription_create",
      lines: [basicLine],
      ...period(0),
    });
    const lease = (now: number) =>
      ledger.call<Array<{ id: string }>>("lease_due_subscriptions", {
        p_limit: 1000,
        p_grace_seconds: 3600,
        p_lease_seconds: 600,
        p_now: iso(now),
      });
    // Period 1 began at day 30 and has no invoice: due once the grace period has passed, then leased.
    expect((await lease(T0 + 30 * DAY + 1800_000)).map((s) => s.id)).not.toContain(sub);
    expect((await lease(T0 + 30 * DAY + 7200_000)).map((s) => s.id)).toContain(sub);
    expect((await lease(T0 + 30 * DAY + 7300_000)).map((s) => s.id)).not.toContain(sub);
    await paid({ invoice: inv(2), sub, user, lines: [basicLine], ...period(1) });
    expect((await lease(T0 + 31 * DAY)).map((s) => s.id)).not.toContain(sub);
    // Two reports of the same second and period that disagree: which is newer cannot be told, so the
    // re-check asks Stripe at once; a report that agrees changes nothing.
    const tied = T0 + 30 * DAY + 60_000;
    await settle(`evt_${randomUUID()}`, [state("active", tied, 1)]);
    expect((await settle(`evt_${randomUUID()}`, [state("active", tied, 1)])).results?.[0]?.outcome).toBe(
      "stale",
    );
    const ambiguous = await settle(`evt_${randomUUID()}`, [state("past_due", tied, 1)]);
    expect(ambiguous.results?.[0]?.outcome).toBe("ambiguous");
    expect((await lease(T0 + 31 * DAY)).map((s) => s.id)).toContain(sub);
    await settle(`evt_${randomUUID()}`, [state("past_due", T0 + 31 * DAY, 1)]);
    const [row] = await ledger.call<Array<{ status: string; resync: boolean }>>("admin_user_subscriptions", {
      p_user_id: user,
    });
    expect(row).toMatchObject({ status: "past_due", resync: false });
  });

  it("the plan follows the newest report, never an invoice's metadata", async () => {
    const { user, sub, inv } = fresh();
    const report = (price: string, at: number) => ({
      kind: "subscription_state",
      provider: "stripe",
      subscription_ref: sub,
      status: "active",
      reported_at: iso(at),
      current_period_start: iso(T0),
      current_period_end: iso(T0 + 30 * DAY),
      cancel_at_period_end: false,
      price_ref: price,
      metadata: { user_id: user, package_id: "basic" },
    });
    await paid({
      invoice: inv(1),
      sub,
      user,
      reason: "subscription_create",
      lines: [basicLine],
      ...period(0),
    });
    await settle(`evt_${randomUUID()}`, [report("price_pro", T0 + 20 * DAY)]);
    await settle(`evt_${randomUUID()}`, [report("price_basic", T0 + 10 * DAY)]);
    // A later invoice of the subscription still carries the metadata written at checkout (basic).
    await paid({
      invoice: inv(2),
      sub,
      user,
      lines: [{ price_ref: "price_pro", amount_minor: 3000 }],
      ...period(1),
    });
    const [row] = await ledger.call<Array<{ package_id: string }>>("admin_user_subscriptions", {
      p_user_id: user,
    });
    expect(row?.package_id).toBe("pro");
  });
});
