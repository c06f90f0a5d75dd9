/**
 * Subscription credits in the database (supabase/migrations/20261207000300_payguard_subscriptions.sql): one
 * grant per paid invoice through `settle_event`, by the rule per billing reason (full period, proration),
 * in any arrival order; the reset policy; amount mismatch → review; an invoice no rule covers → incident;
 * refunds and disputes of an invoice's payment; subscription state (newest report wins); the re-check
 * lease. Logic on PGlite (and Postgres when DATABASE_URL is set); 20 concurrent copies of one invoice on
 * real Postgres only.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LedgerDb, ledgerBackends, openPostgresLedger } from "../support/node/ledger-db.ts";
import {
  DAY,
  invoiceFact,
  iso,
  type Line,
  PLANS_SQL,
  type Settled,
  subscriptionCalls,
  T0,
} from "../support/node/subscription-sql.ts";

describe.each(ledgerBackends("subscriptions SQL"))("subscription credits on %s", (_name, open) => {
  let ledger: LedgerDb;
  beforeAll(async () => {
    ledger = await open();
    await ledger.db.exec(PLANS_SQL);
  });
  afterAll(() => ledger.close());

  const { settle, paid, refundOf, disputeOf, balance, ledgerOf, fresh, period, basicLine } =
    subscriptionCalls(() => ledger);
  it("creation and each cycle grant the plan's credits once per invoice, keyed by the invoice id", async () => {
    const { user, sub, inv } = fresh();
    const created = await paid({
      invoice: inv(1),
      sub,
      user,
      reason: "subscription_create",
      lines: [basicLine],
      ...period(0),
    });
    expect(created.results?.[0]).toMatchObject({
      outcome: "fulfilled",
      order: { id: inv(1), status: "fulfilled" },
    });
    const again = await paid({
      invoice: inv(1),
      sub,
      user,
      reason: "subscription_create",
      lines: [basicLine],
      ...period(0),
    });
    expect(again.results?.[0]?.outcome).toBe("duplicate");
    await paid({ invoice: inv(2), sub, user, lines: [basicLine], ...period(1) });
    expect(await balance(user)).toBe(200);
    expect(await ledgerOf(user)).toEqual([`purchase:100:${inv(1)}`, `purchase:100:${inv(2)}`]);
    const [row] = await ledger.call<Array<{ status: string; invoices: Array<{ credits: number }> }>>(
      "admin_user_subscriptions",
      { p_user_id: user },
    );
    expect(row?.invoices.map((i) => i.credits)).toEqual([100, 100]);
  });

  it("a plan change grants the proration's credits in proportion to its money; a downgrade grants nothing", async () => {
    const { user, sub, inv } = fresh();
    await paid({
      invoice: inv(1),
      sub,
      user,
      reason: "subscription_create",
      lines: [basicLine],
      ...period(0),
    });
    // Halfway through: the unused half of Basic (-500) and the remaining half of Pro (+1500).
    const half = T0 + 15 * DAY;
    const upgrade = await settle(`evt_${randomUUID()}`, [
      invoiceFact({
        invoice: inv(2),
        sub,
        user,
        reason: "subscription_update",
        periodStart: half,
        periodEnd: T0 + 30 * DAY,
        lines: [
          { price_ref: "price_basic", amount_minor: -500, proration: true },
          { price_ref: "price_pro", amount_minor: 1500, proration: true },
        ],
      }),
    ]);
    // 100 × -500/1000 + 500 × 1500/3000 = -50 + 250 = 200 credits for 1000 paid.
    expect(upgrade.results?.[0]?.order).toMatchObject({ id: inv(2), status: "fulfilled" });
    expect(await balance(user)).toBe(300);
    const downgrade = await settle(`evt_${randomUUID()}`, [
      invoiceFact({
        invoice: inv(3),
        sub,
        user,
        reason: "subscription_update",
        periodStart: T0 + 20 * DAY,
        periodEnd: T0 + 30 * DAY,
        paid: 0,
        lines: [
          { price_ref: "price_pro", amount_minor: -1000, proration: true },
          { price_ref: "price_basic", amount_minor: 333, proration: true },
        ],
      }),
    ]);
    expect(downgrade.results?.[0]?.outcome).toBe("nothing_granted");
    expect(await balance(user)).toBe(300);
  });

  it("a renewal's invoice before the creation's grants both; the end state is the same", async () => {
    const { user, sub, inv } = fresh();
    await paid({ invoice: inv(2), sub, user, lines: [basicLine], ...period(1) });
    await paid({
      invoice: inv(1),
      sub,
      user,
      reason: "subscription_create",
      lines: [basicLine],
      ...period(0),
    });
    expect(await balance(user)).toBe(200);
    const [row] = await ledger.call<Array<{ current_period_start: string }>>("admin_user_subscriptions", {
      p_user_id: user,
    });
    expect(Date.parse(row?.current_period_start ?? "")).toBe(period(1).periodStart);
  });

  it("reset: a renewal expires what is left of the ended period's grant, in either arrival order", async () => {
    const inOrder = fresh();
    const line: Line = { price_ref: "price_daily", amount_minor: 500 };
    const day = (n: number) => ({ periodStart: T0 + n * DAY, periodEnd: T0 + (n + 1) * DAY });
    const spec = (who: ReturnType<typeof fresh>, n: number, reason = "subscription_cycle") => ({
      invoice: who.inv(n),
      sub: who.sub,
      user: who.user,
      reason,
      plan: "daily",
      lines: [line],
      ...day(n),
    });
    await paid(spec(inOrder, 1, "subscription_create"));
    await paid(spec(inOrder, 2));
    await paid(spec(inOrder, 3));
    expect(await balance(inOrder.user)).toBe(50);
    expect(await ledgerOf(inOrder.user)).toEqual([
      `purchase:50:${inOrder.inv(1)}`,
      `expiry:-50:${inOrder.inv(1)}`,
      `purchase:50:${inOrder.inv(2)}`,
      `expiry:-50:${inOrder.inv(2)}`,
      `purchase:50:${inOrder.inv(3)}`,
    ]);
    const reversed = fresh();
    await paid(spec(reversed, 3));
    await paid(spec(reversed, 1, "subscription_create"));
    await paid(spec(reversed, 2));
    expect(await balance(reversed.user)).toBe(50);
    expect((await ledgerOf(reversed.user)).filter((row) => row.startsWith("expiry")).sort()).toEqual(
      [`expiry:-50:${reversed.inv(1)}`, `expiry:-50:${reversed.inv(2)}`].sort(),
    );
  });

  it("reset: a refund of an expired period leaves the same balance before or after the renewal", async () => {
    const line: Line = { price_ref: "price_daily", amount_minor: 500 };
    const day = (who: ReturnType<typeof fresh>, n: number, reason = "subscription_cycle") => ({
      invoice: who.inv(n),
      sub: who.sub,
      user: who.user,
      reason,
      plan: "daily",
      lines: [line],
      periodStart: T0 + n * DAY,
      periodEnd: T0 + (n + 1) * DAY,
    });
    const refund = (who: ReturnType<typeof fresh>, amount: number) =>
      refundOf(who.inv(1), amount, T0 + 3 * DAY);
    const before = fresh();
    await paid(day(before, 1, "subscription_create"));
    await refund(before, 300);
    await paid(day(before, 2));
    const after = fresh();
    await paid(day(after, 1, "subscription_create"));
    await paid(day(after, 2));
    await refund(after, 300);
    // Period 1 grants 50; the refund of 300 of 500 takes 30 of them, the renewal expires the other 20.
    expect(await balance(before.user)).toBe(50);
    expect(await balance(after.user)).toBe(50);
    // A dispute opened before the renewal and won after it gives back to the expiry, not to the user.
    const won = fresh();
    await paid(day(won, 1, "subscription_create"));
    await disputeOf(won.inv(1), 250, T0 + DAY + 60_000);
    await paid(day(won, 2));
    await disputeOf(won.inv(1), 250, T0 + 3 * DAY, "won");
    expect(await balance(won.user)).toBe(50);
  });

  it("a line that does not cost its plan's price holds the grant for review; no credits", async () => {
    const { user, sub, inv } = fresh();
    const settled = await paid({
      invoice: inv(1),
      sub,
      user,
      reason: "subscription_create",
      lines: [{ price_ref: "price_basic", amount_minor: 10 }],
      ...period(0),
    });
    expect(settled.results?.[0]).toMatchObject({ outcome: "mismatch", order: { status: "needs_review" } });
    expect(await balance(user)).toBe(0);
  });

  it("an invoice billing no plan, or naming no user, grants nothing and opens a critical incident", async () => {
    const { user, sub, inv } = fresh();
    const unknownPrice = await paid({
      invoice: inv(1),
      sub,
      user,
      reason: "subscription_create",
      lines: [{ price_ref: "price_other", amount_minor: 1000 }],
      ...period(0),
    });
    expect(unknownPrice.results?.[0]?.outcome).toBe("ungranted");
    const stranger = fresh();
    const noUser = await settle(`evt_${randomUUID()}`, [
      {
        ...invoiceFact({
          invoice: stranger.inv(1),
          sub: stranger.sub,
          user,
          lines: [basicLine],
          ...period(0),
        }),
        metadata: {},
      },
    ]);
    expect(noUser.results?.[0]?.outcome).toBe("ungranted");
    const open = await ledger.db.query<{ key: string }>(
      "select key from payguard.incident_outbox where action = 'raise' and kind = 'subscription_invoice_ungranted' and key like any ($1)",
      [[`%${inv(1)}`, `%${stranger.inv(1)}`]],
    );
    expect(open.rows).toHaveLength(2);
    expect(await balance(user)).toBe(0);
  });

  it("a refund of an invoice's payment claws back by the refund rules; a dispute by the dispute policy", async () => {
    const { user, sub, inv } = fresh();
    await paid({
      invoice: inv(1),
      sub,
      user,
      reason: "subscription_create",
      lines: [basicLine],
      ...period(0),
    });
    await paid({ invoice: inv(2), sub, user, lines: [basicLine], ...period(1) });
    const refund = await refundOf(inv(2), 500, T0 + 31 * DAY);
    expect(refund.results?.[0]?.order).toMatchObject({ id: inv(2), status: "partially_refunded" });
    expect(await balance(user)).toBe(150);
    await disputeOf(inv(1), 1000, T0 + 32 * DAY);
    expect(await balance(user)).toBe(50);
  });

  it("a plan is not sold as a one-off package, and is listed apart from them", async () => {
    const packages = await ledger.call<Array<{ id: string }>>("list_packages", {});
    const plans = await ledger.call<Array<{ id: string; price_ref: string }>>("list_plans", {});
    expect(packages.map((p) => p.id)).toContain("pack");
    expect(packages.map((p) => p.id)).not.toContain("basic");
    expect(plans.map((p) => p.price_ref)).toEqual(["price_daily", "price_basic", "price_pro"]);
    const begun = await ledger.call<{ outcome: string }>("checkout_begin", {
      p_user_id: randomUUID(),
      p_package_id: "basic",
      p_provider: "stripe",
      p_idempotency_key: null,
      p_request_hash: "a".repeat(64),
      p_now: iso(T0),
      p_expires_in_seconds: 3600,
    });
    expect(begun.outcome).toBe("unknown_package");
  });
});

describe.skipIf(!process.env.DATABASE_URL)("subscription credits under concurrency (real Postgres)", () => {
  let ledger: Awaited<ReturnType<typeof openPostgresLedger>>;
  beforeAll(async () => {
    ledger = await openPostgresLedger(process.env.DATABASE_URL as string);
    await ledger.db.exec(PLANS_SQL);
  });
  afterAll(() => ledger?.close());

  it("20 concurrent deliveries of one invoice (distinct event ids) grant once", async () => {
    const user = randomUUID();
    const fact = invoiceFact({
      invoice: "in_concurrent_1",
      sub: "sub_concurrent_1",
      user,
      reason: "subscription_create",
      lines: [{ price_ref: "price_basic", amount_minor: 1000 }],
      periodStart: T0,
      periodEnd: T0 + 30 * DAY,
    });
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        ledger.call<Settled>("settle_event", {
          p_provider: "stripe",
          p_event_id: `evt_concurrent_${i % 4}`,
          p_event_type: "invoice.paid",
          p_locator: { by: null, ref: null, claimed_order_id: "in_concurrent_1" },
          p_facts: [fact],
          p_source: "webhook",
          p_now: iso(T0 + 60_000),
        }),
      ),
    );
    const granted = await ledger.db.query<{ n: number; credits: string }>(
      "select count(*)::int as n, coalesce(sum(credits), 0) as credits from payguard.credit_ledger where user_id = $1",
      [user],
    );
    expect(granted.rows[0]).toEqual({ n: 1, credits: "100" });
    expect(
      answers.filter((a) => a.status === "settled" && a.results?.[0]?.outcome === "fulfilled"),
    ).toHaveLength(1);
  });

  it("a renewal's expiry and a refund of the ended period at once take no more than the refund says", async () => {
    const { paid, refundOf, balance, fresh } = subscriptionCalls(() => ledger);
    const pairs = Array.from({ length: 10 }, () => fresh());
    const day = (who: ReturnType<typeof fresh>, n: number, reason = "subscription_cycle") => ({
      invoice: who.inv(n),
      sub: who.sub,
      user: who.user,
      reason,
      plan: "daily",
      lines: [{ price_ref: "price_daily", amount_minor: 500 }],
      periodStart: T0 + n * DAY,
      periodEnd: T0 + (n + 1) * DAY,
    });
    for (const who of pairs) await paid(day(who, 1, "subscription_create"));
    await Promise.all(
      pairs.flatMap((who) => [paid(day(who, 2)), refundOf(who.inv(1), 250, T0 + 2 * DAY + 60_000)]),
    );
    // Period 1's 50 credits: the refund takes half, the renewal expires the other half; period 2 grants 50.
    expect(await Promise.all(pairs.map((who) => balance(who.user)))).toEqual(Array(10).fill(50));
  });
});
