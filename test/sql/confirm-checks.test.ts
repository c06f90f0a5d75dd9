import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LedgerDb, ledgerBackends, openPostgresLedger, PACKAGE_SQL } from "../support/node/ledger-db.ts";
import { connectPatiently } from "../support/node/scratch-db.ts";

const T0 = "2026-11-22T12:00:00.000Z";
const INTERVAL_MS = 10_000;
const CONCURRENT_POLLS = 30;
/** High enough that these tests meet the per-order throttle only (test/sql/public-limits.test.ts: the other). */
const USER_PER_MINUTE_MAX = 1000;
const at = (offsetMs: number) => new Date(Date.parse(T0) + offsetMs).toISOString();

describe.each(ledgerBackends("confirm checks SQL"))("claim_confirm_check on %s", (_name, open) => {
  let ledger: LedgerDb;
  beforeAll(async () => {
    ledger = await open();
    await ledger.db.exec(PACKAGE_SQL);
  });
  afterAll(() => ledger.close());

  const newOrder = async () =>
    (
      await ledger.call<{ id: string }>("create_order", {
        p_user_id: randomUUID(),
        p_package_id: "credits_100",
        p_provider: "wechatpay",
        p_now: T0,
      })
    ).id;
  const claim = async (orderId: string, now: string, interval = INTERVAL_MS) =>
    (
      await ledger.call<{ outcome: string }>("claim_confirm_check", {
        p_order_id: orderId,
        p_now: now,
        p_min_interval_ms: interval,
        p_user_per_minute_max: USER_PER_MINUTE_MAX,
      })
    ).outcome === "claimed";

  it("grants one check per interval per order", async () => {
    const [a, b] = [await newOrder(), await newOrder()];
    expect(await claim(a, at(0))).toBe(true);
    expect(await claim(a, at(1))).toBe(false);
    expect(await claim(a, at(INTERVAL_MS - 1))).toBe(false);
    expect(await claim(b, at(1))).toBe(true);
    expect(await claim(a, at(INTERVAL_MS))).toBe(true);
    expect(await claim(a, at(INTERVAL_MS + 1))).toBe(false);
  });

  it("is for service_role only and refuses a negative interval", async () => {
    const orderId = await newOrder();
    await expect(
      ledger.asRole("authenticated", "select payguard.claim_confirm_check($1, now(), 0, 1)", [orderId]),
    ).rejects.toMatchObject({ code: "42501" });
    await expect(claim(orderId, at(0), -1)).rejects.toMatchObject({ code: "P0001" });
  });
});

const base = process.env.DATABASE_URL;
describe.skipIf(!base)("claim_confirm_check under real concurrency (Postgres)", () => {
  let ledger: Awaited<ReturnType<typeof openPostgresLedger>>;
  beforeAll(async () => {
    ledger = await openPostgresLedger(base as string);
    await ledger.db.exec(PACKAGE_SQL);
  });
  afterAll(() => ledger.close());

  it(`grants exactly one of ${CONCURRENT_POLLS} concurrent claims`, async () => {
    const orderId = (
      await ledger.call<{ id: string }>("create_order", {
        p_user_id: randomUUID(),
        p_package_id: "credits_100",
        p_provider: "wechatpay",
        p_now: T0,
      })
    ).id;
    const url = ledger.url;
    const results = await Promise.all(
      Array.from({ length: CONCURRENT_POLLS }, async () => {
        const client = await connectPatiently(url);
        try {
          await client.query("begin");
          await client.query("select set_config('role', 'service_role', true)");
          const { rows } = await client.query(
            "select payguard.claim_confirm_check($1, $2, $3, $4) ->> 'outcome' as outcome",
            [orderId, T0, INTERVAL_MS, USER_PER_MINUTE_MAX],
          );
          await client.query("commit");
          return rows[0]?.outcome === "claimed";
        } finally {
          await client.end();
        }
      }),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
  });
});
