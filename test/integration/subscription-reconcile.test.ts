/**
 * A renewal whose webhooks were all lost is granted by the 5-minute reconcile: by the backfill (the events
 * cursor lists `invoice.paid`), and, when the events listing fails, by the subscription re-check (a live
 * subscription whose period ended more than the grace period ago is retrieved with its latest invoice).
 * The sandbox's clock moves a month on, so the sandbox renews on its own and delivers nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CRON_RECONCILE } from "../../src/reconcile/scheduled.ts";
import { type Delivery, sandbox, seedPackage, sql } from "../support/worker/harness.ts";
import { runCron, startStripeCursorNow } from "../support/worker/reconcile.ts";
import { deliverStripe, ledgerOf } from "../support/worker/stripe.ts";
import { billedAtSandbox, seedPlan, subscribeAtSandbox } from "../support/worker/subscriptions.ts";

const MONTH_AND_A_DAY_MS = 32 * 86_400_000;
const THREE_HOURS_MS = 3 * 3600_000;

async function deliverAll(deliveries: Delivery[]): Promise<void> {
  for (const delivery of deliveries) expect((await deliverStripe(delivery)).status).toBe(200);
}

/** The sandbox a month and a day on: every subscription renews there, and nobody is told. */
async function monthLater(): Promise<number> {
  const { nowMs } = await sandbox<{ nowMs: number }>("clock");
  await sandbox("clock", { setMs: nowMs + MONTH_AND_A_DAY_MS });
  return nowMs + MONTH_AND_A_DAY_MS;
}

/** The invoices the sandbox issued for the subscription, newest first. */
const sandboxInvoices = async (subscriptionId: string) =>
  (
    await sandbox<{ subscriptions: Array<{ id: string; latest_invoice: string }> }>("stripe/subscriptions")
  ).subscriptions.find((s) => s.id === subscriptionId)?.latest_invoice;

const inboxFor = (invoiceId: string) =>
  sql<{ event_id: string; status: string }>(
    "select event_id, status from payguard.webhook_events where order_id = $1 order by received_at",
    [invoiceId],
  );

let plan: Awaited<ReturnType<typeof seedPlan>>;

beforeAll(async () => {
  await seedPackage();
  plan = await billedAtSandbox(await seedPlan("sub_reconcile", { amountMinor: 1000, credits: 100 }));
});
afterAll(async () => {
  await sandbox("faults", { api: [] });
  await sandbox("clock", { setMs: Date.now() });
});

describe("a renewal whose webhooks were all lost", () => {
  it("is granted by the backfill through the events cursor", async () => {
    const user = crypto.randomUUID();
    const subscribed = await subscribeAtSandbox(user, plan);
    await deliverAll(subscribed.deliveries);
    await startStripeCursorNow();
    const at = await monthLater();
    const renewal = await sandboxInvoices(subscribed.subscriptionId);
    expect(renewal).not.toBe(subscribed.invoiceId);
    await runCron(CRON_RECONCILE, at + 60_000);
    expect(await ledgerOf(user)).toMatchObject({ balance: 200 });
    // The backfill's copy of the real event settled it; the re-check then found it recorded.
    const inbox = await inboxFor(renewal as string);
    expect(inbox.find((row) => row.event_id.startsWith("evt_"))).toMatchObject({ status: "processed" });
  });

  it("is granted by the subscription re-check when the events listing fails", async () => {
    const user = crypto.randomUUID();
    const subscribed = await subscribeAtSandbox(user, plan);
    await deliverAll(subscribed.deliveries);
    const [known] = await sql<{ current_period_end: string }>(
      "select current_period_end from payguard.subscriptions where id = $1",
      [subscribed.subscriptionId],
    );
    const periodEndMs = Date.parse(known?.current_period_end ?? "");
    const at = await monthLater();
    const renewal = (await sandboxInvoices(subscribed.subscriptionId)) as string;
    await sandbox("faults", { api: [{ kind: "5xx", pathPrefix: "/v1/events", status: 503 }] });
    // Within the grace period the renewal may still be on its way: nothing is asked yet.
    await runCron(CRON_RECONCILE, periodEndMs + 3600_000);
    expect(await ledgerOf(user)).toMatchObject({ balance: 100 });
    await runCron(CRON_RECONCILE, at + THREE_HOURS_MS);
    expect(await ledgerOf(user)).toMatchObject({ balance: 200 });
    expect((await inboxFor(renewal)).map((row) => row.event_id)).toEqual([
      expect.stringMatching(new RegExp(`^reconcile:${renewal}:`)),
    ]);
    const [row] = await sql<{ status: string; current_period_start: string }>(
      "select status, current_period_start from payguard.subscriptions where id = $1",
      [subscribed.subscriptionId],
    );
    expect(row?.status).toBe("active");
    expect(Date.parse(row?.current_period_start ?? "")).toBeGreaterThan(at - MONTH_AND_A_DAY_MS);
  });
});
