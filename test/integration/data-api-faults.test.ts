/**
 * The Data API refusing payguard, one class at a time, through the real worker (its OrderGuard and
 * AlertDesk included): the schema no longer exposed (406 PGRST106), the settle function missing (404
 * PGRST202), its grant revoked (42501 → 403), the key refused (401), the database unreachable (503
 * PGRST000). Each time a signed Stripe delivery and a signed WeChat Pay notification get 5xx (so the
 * providers keep retrying), exactly one `data_api:` incident naming the fix is opened, and once the
 * installation is repaired a redelivery of each is credited once and the incident is resolved.
 *
 * The faults are real ones on this suite's stand-in: it runs in the serial project (vitest.config.ts),
 * whose stand-in no other suite uses at the same time, and every fault is undone in `finally`.
 */
import { runInDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, inject, it } from "vitest";
import type { AlertDesk } from "../../src/alerts/alert-desk.ts";
import type { DataApiFault } from "../../src/ledger/result.ts";
import { deskNamed } from "../support/worker/alerts.ts";
import {
  adminHeaders,
  call,
  incidentRowsFrom,
  seedPackage,
  setDatabaseDown,
  sql,
} from "../support/worker/harness.ts";
import {
  createOrder,
  deliverStripe,
  ledgerOf,
  orderStatus,
  stripeScenario,
} from "../support/worker/stripe.ts";
import { createWechatOrder, deliverWechat, only, wechatScenario } from "../support/worker/wechat.ts";

/** A test-only switch of the stand-in (dev/supabase/standin.ts). */
async function standIn(path: string, body: unknown): Promise<void> {
  const { url, serviceRoleKey } = inject("standIn");
  const response = await fetch(`${url}/__standin/${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${serviceRoleKey}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`stand-in ${path} failed: ${response.status}`);
}

/** The one function every new webhook event is settled with. */
async function settleEventFunction(): Promise<{ signature: string; definition: string }> {
  const [row] = await sql<{ signature: string; definition: string }>(
    `select p.oid::regprocedure::text as signature, pg_get_functiondef(p.oid) as definition
       from pg_proc p where p.pronamespace = 'payguard'::regnamespace and p.proname = 'settle_event'`,
  );
  if (!row) throw new Error("payguard.settle_event not found");
  return row;
}

interface Fault {
  fault: DataApiFault;
  /** What the summary's fix says. */
  fix: RegExp;
  /** Failed deliveries before the incident opens. */
  failures: number;
  /** Breaks the installation; returns what repairs it. */
  apply(): Promise<() => Promise<void>>;
}

const FAULTS: Fault[] = [
  {
    fault: "schema_not_exposed",
    fix: /Fix: expose schema payguard in the Data API settings/,
    failures: 2,
    async apply() {
      await standIn("schemas", { schemas: ["public"] });
      return () => standIn("schemas", { schemas: ["public", "payguard"] });
    },
  },
  {
    fault: "function_missing",
    fix: /Fix: apply supabase\/migrations \(`npm run db:migrate`.*before deploying the code/,
    failures: 2,
    async apply() {
      const { signature, definition } = await settleEventFunction();
      await sql(`drop function ${signature}`);
      return async () => {
        await sql(definition);
        await sql(`revoke execute on function ${signature} from public, anon, authenticated`);
        await sql(`grant execute on function ${signature} to service_role`);
      };
    },
  },
  {
    fault: "permission_denied",
    fix: /Fix: restore the grant.*run the doctor/,
    failures: 2,
    async apply() {
      const { signature } = await settleEventFunction();
      await sql(`revoke execute on function ${signature} from service_role`);
      return async () => {
        await sql(`grant execute on function ${signature} to service_role`);
      };
    },
  },
  {
    fault: "key_rejected",
    fix: /Fix: set SUPABASE_SECRET_KEY to the project's secret key/,
    failures: 2,
    async apply() {
      await standIn("revoke-keys", { revoked: true });
      return () => standIn("revoke-keys", { revoked: false });
    },
  },
  {
    fault: "unavailable",
    fix: /Fix: check the database/,
    // One failed delivery is a blip; the incident opens at the third in a row.
    failures: 3,
    async apply() {
      await setDatabaseDown(true);
      return () => setDatabaseDown(false);
    },
  },
];

type DeskRow = { status: string; fires: number; summary: string };

/** The desk's own record of `key` (the database mirror may be what is broken). */
const deskIncident = (key: string): Promise<DeskRow | undefined> =>
  runInDurableObject(
    deskNamed("desk"),
    (_desk: AlertDesk, state) =>
      state.storage.sql
        .exec<DeskRow>("select status, fires, summary from incidents where key = ?", key)
        .toArray()[0],
  );

async function paidStripe(userId: string) {
  const orderId = await createOrder(userId);
  const { deliveries } = await stripeScenario("pay", { orderId, amountMinor: 1999, currency: "usd" });
  const [delivery] = deliveries;
  if (!delivery) throw new Error("no Stripe delivery");
  return { orderId, delivery };
}

async function paidWechat(userId: string) {
  const orderId = await createWechatOrder(userId);
  const delivery = only(await wechatScenario("pay", { outTradeNo: orderId, amountMinor: 990 }));
  return { orderId, delivery };
}

beforeAll(async () => {
  await seedPackage();
  // The first request starts the doctor in the background; let it finish before any fault is set.
  const since = new Date().toISOString();
  expect((await call("/health")).status).toBe(200);
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const runs = await sql("select 1 from payguard.job_runs where job = 'doctor' and started_at >= $1", [
      since,
    ]);
    if (runs.length > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error("the first-request doctor did not run");
});

describe("webhooks while the Data API refuses payguard", () => {
  it.each(FAULTS)(
    "$fault: 5xx to both providers, one incident naming the fix, resolved after the repair",
    async (fault) => {
      const key = `data_api:${fault.fault}`;
      const stripeUser = crypto.randomUUID();
      const wechatUser = crypto.randomUUID();
      const stripe = await paidStripe(stripeUser);
      const wechat = await paidWechat(wechatUser);
      const mirrored = await incidentRowsFrom(key);

      const repair = await fault.apply();
      try {
        const stripeAnswer = await deliverStripe(stripe.delivery);
        expect(stripeAnswer.status).toBe(503);
        // Generic: nothing about the installation reaches the caller.
        expect(await stripeAnswer.json()).toEqual({
          error: "unavailable",
          message: "temporarily unavailable, retry later",
        });
        expect((await deliverWechat(wechat.delivery)).status).toBe(503);
        for (let i = 2; i < fault.failures; i += 1)
          expect((await deliverStripe(stripe.delivery)).status).toBe(503);
        const open = await deskIncident(key);
        expect(open).toMatchObject({ status: "open", fires: 1 });
        expect(open?.summary).toMatch(fault.fix);
      } finally {
        await repair();
      }
      expect(await orderStatus(stripe.orderId)).toBe("pending");
      expect(await orderStatus(wechat.orderId)).toBe("pending");

      expect((await deliverStripe(stripe.delivery)).status).toBe(200);
      expect((await deliverWechat(wechat.delivery)).status).toBe(204);
      expect((await deliverStripe(stripe.delivery)).status).toBe(200);
      for (const user of [stripeUser, wechatUser])
        expect(await ledgerOf(user)).toEqual({ balance: 100, rows: [{ kind: "purchase", credits: 100 }] });
      expect(await deskIncident(key)).toMatchObject({ status: "resolved", fires: 1 });
      // The mirror caught up with the desk: opened once, resolved.
      expect(await mirrored()).toEqual(["resolved"]);
    },
  );
});

describe("the public API and the console while the Data API refuses payguard", () => {
  it("answer 503: the public API with a generic message, the console naming the incident", async () => {
    const orderId = await createOrder(crypto.randomUUID());
    const repair = await FAULTS[0]?.apply();
    try {
      const packages = await call("/api/packages");
      expect(packages.status).toBe(503);
      expect(await packages.json()).toEqual({
        error: "unavailable",
        message: "temporarily unavailable, retry later",
      });
      const sync = await call(`/admin/api/orders/${orderId}/sync`, {
        method: "POST",
        headers: { ...adminHeaders(), "content-type": "application/json" },
        body: JSON.stringify({ reason: "checking the order during the outage" }),
      });
      expect(sync.status).toBe(503);
      expect(await sync.json()).toEqual({
        error: "misconfigured",
        message: "payguard is misconfigured; see incident data_api:schema_not_exposed",
      });
      const read = await call(`/admin/api/orders/${orderId}`, { headers: adminHeaders() });
      expect(read.status).toBe(503);
      expect(await read.json()).toEqual({
        error: "unavailable",
        message: "temporarily unavailable, retry later",
      });
    } finally {
      await repair?.();
    }
    expect((await call("/api/packages")).status).toBe(200);
  });
});
