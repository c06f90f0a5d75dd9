/**
 * The per-user abuse limits in the database (src/checkout/limits.ts names them): `checkout_begin` refuses a
 * user's order past the pending limits (per package, in all) or past the units of a limited package one
 * user may hold, writing nothing; `claim_confirm_check` refuses a user's provider query past the minute's
 * limit. Logic on PGlite (and Postgres when DATABASE_URL is set); concurrency on real Postgres only: one
 * user's requests at once never pass a limit together.
 */
import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LedgerDb, ledgerBackends, openPostgresLedger } from "../support/node/ledger-db.ts";

const T0 = "2026-11-22T12:00:00.000Z";
const at = (offsetMs: number) => new Date(Date.parse(T0) + offsetMs).toISOString();
const HASH = "a".repeat(64);
const LIMITS = { p_pending_max: 4, p_package_pending_max: 2, p_stock_max: 2 };
const CONFIRM_INTERVAL_MS = 10_000;
const QUERIES_PER_MINUTE = 3;

const PACKAGES_SQL = `insert into payguard.credit_packages (id, name, amount_minor, currency, credits, active, stock_limit)
  values ('open_a', 'A', 500, 'USD', 10, true, null), ('open_b', 'B', 500, 'USD', 10, true, null),
         ('open_c', 'C', 500, 'USD', 10, true, null), ('drop', 'Drop', 900, 'USD', 50, true, 5)
  on conflict (id) do nothing`;

type Begin = { outcome: string; order: { id: string } | null };

describe.each(ledgerBackends("public limits SQL"))("per-user limits on %s", (_name, open) => {
  let ledger: LedgerDb;
  beforeAll(async () => {
    ledger = await open();
    await ledger.db.exec(PACKAGES_SQL);
  });
  afterAll(() => ledger.close());

  const begin = (user: string, pkg: string, key: string | null = null, limits: object = LIMITS) =>
    ledger.call<Begin>("checkout_begin", {
      p_user_id: user,
      p_package_id: pkg,
      p_provider: "stripe",
      p_idempotency_key: key,
      p_request_hash: HASH,
      p_now: T0,
      p_expires_in_seconds: 3600,
      ...limits,
    });
  const outcomes = async (user: string, pkgs: string[]) => {
    const answers: string[] = [];
    for (const pkg of pkgs) answers.push((await begin(user, pkg)).outcome);
    return answers;
  };
  const ordersOf = async (user: string) =>
    (
      await ledger.db.query<{ n: number }>(
        "select count(*)::int as n from payguard.payment_orders where user_id = $1",
        [user],
      )
    ).rows[0]?.n;

  it("refuses a third pending order of one package and a fifth in all, writing nothing", async () => {
    const user = randomUUID();
    expect(await outcomes(user, ["open_a", "open_a", "open_a"])).toEqual([
      "created",
      "created",
      "package_pending_limit",
    ]);
    expect(await outcomes(user, ["open_b", "open_c", "open_c"])).toEqual([
      "created",
      "created",
      "pending_limit",
    ]);
    expect(await ordersOf(user)).toBe(4);
    // Another user is not affected; an idempotent replay is never refused.
    expect((await begin(randomUUID(), "open_a")).outcome).toBe("created");
    // A paid or expired order is no longer pending: room again.
    await ledger.db.query(
      "update payguard.payment_orders set status = 'expired' where user_id = $1 and package_id = 'open_a'",
      [user],
    );
    expect(await outcomes(user, ["open_a"])).toEqual(["created"]);
  });

  it("never refuses a replay of an order the user already has", async () => {
    const user = randomUUID();
    const first = await begin(user, "open_a", "key-1", { ...LIMITS, p_package_pending_max: 1 });
    expect(first.outcome).toBe("created");
    const again = await begin(user, "open_a", "key-1", { ...LIMITS, p_package_pending_max: 1 });
    expect(again).toMatchObject({ outcome: "replayed", order: { id: first.order?.id } });
    expect((await begin(user, "open_a", "key-2", { ...LIMITS, p_package_pending_max: 1 })).outcome).toBe(
      "package_pending_limit",
    );
  });

  it("counts held units of a limited package, bought ones too, and only for limited packages", async () => {
    const user = randomUUID();
    const held = await begin(user, "drop");
    await ledger.db.query(
      `update payguard.payment_orders set status = 'fulfilled', payment_ref = 'pi_' || id, paid_at = $2
        where id = $1`,
      [held.order?.id, T0],
    );
    expect(await outcomes(user, ["drop", "drop"])).toEqual(["created", "stock_per_user_limit"]);
    const stock = await ledger.call<Array<{ id: string; stock_remaining: number }>>("list_packages", {});
    expect(stock.find((p) => p.id === "drop")?.stock_remaining).toBe(3);
    // Bought units of an unlimited package are no limit at all.
    const buyer = randomUUID();
    for (const _ of [1, 2, 3]) {
      const order = await begin(buyer, "open_b");
      await ledger.db.query(
        `update payguard.payment_orders set status = 'fulfilled', payment_ref = 'pi_' || id, paid_at = $2
          where id = $1`,
        [order.order?.id, T0],
      );
    }
    expect((await begin(buyer, "open_b")).outcome).toBe("created");
  });

  it("checks no limit it is not given (callers without limits keep working)", async () => {
    const user = randomUUID();
    const none = { p_pending_max: null, p_package_pending_max: null, p_stock_max: null };
    for (const _ of [1, 2, 3]) expect((await begin(user, "open_c", null, none)).outcome).toBe("created");
  });

  it("allows a user a few provider queries a minute over all their orders; a refusal writes nothing", async () => {
    const user = randomUUID();
    const orders: string[] = [];
    for (const pkg of ["open_a", "open_b", "open_c", "open_a"]) {
      orders.push((await begin(user, pkg, null, {})).order?.id as string);
    }
    const claim = (orderId: string, now: string) =>
      ledger.call<{ outcome: string; retry_after_seconds?: number }>("claim_confirm_check", {
        p_order_id: orderId,
        p_now: now,
        p_min_interval_ms: CONFIRM_INTERVAL_MS,
        p_user_per_minute_max: QUERIES_PER_MINUTE,
      });
    const [a, b, c, d] = orders as [string, string, string, string];
    expect((await claim(a, at(0))).outcome).toBe("claimed");
    // Throttled by the order's own interval: not counted against the user.
    expect((await claim(a, at(1_000))).outcome).toBe("throttled");
    expect((await claim(b, at(2_000))).outcome).toBe("claimed");
    expect((await claim(c, at(3_000))).outcome).toBe("claimed");
    expect(await claim(d, at(20_000))).toEqual({ outcome: "rate_limited", retry_after_seconds: 40 });
    const checked = await ledger.db.query("select 1 from payguard.confirm_checks where order_id = $1", [d]);
    expect(checked.rows).toHaveLength(0);
    // Another user has their own minute; this one's next window opens a minute after its first query.
    const other = (await begin(randomUUID(), "open_a", null, {})).order?.id as string;
    expect((await claim(other, at(20_000))).outcome).toBe("claimed");
    expect((await claim(d, at(60_000))).outcome).toBe("claimed");
  });
});

const base = process.env.DATABASE_URL;
if (!base) console.log("public limits SQL concurrency: skipped (needs a real Postgres: set DATABASE_URL)");
const CONCURRENT = 20;

/** Each call in its own transaction on a connection of its own, as concurrent worker requests arrive. */
async function inOwnTransaction(pool: pg.Pool, sql: string, params: unknown[]): Promise<string> {
  const client = await pool.connect();
  try {
    await client.query("begin");
    await client.query("select set_config('role', 'service_role', true)");
    const { rows } = await client.query(sql, params);
    await client.query("commit");
    return rows[0]?.outcome as string;
  } finally {
    client.release();
  }
}

describe.skipIf(!base)("per-user limits under real concurrency (Postgres)", () => {
  let ledger: Awaited<ReturnType<typeof openPostgresLedger>>;
  let pool: pg.Pool;
  beforeAll(async () => {
    ledger = await openPostgresLedger(base as string);
    await ledger.db.exec(PACKAGES_SQL);
    pool = new pg.Pool({ connectionString: ledger.url, max: CONCURRENT });
  });
  afterAll(async () => {
    await pool.end();
    await ledger.close();
  });

  const BEGIN_SQL = `select payguard.checkout_begin($1::uuid, $2, 'stripe', null, '${HASH}', $3::timestamptz, 3600,
    p_pending_max => $4, p_package_pending_max => $5, p_stock_max => $6) ->> 'outcome' as outcome`;
  const created = (answers: string[]) => answers.filter((outcome) => outcome === "created").length;

  it(`${CONCURRENT} checkouts of one user at once: exactly the pending limit passes, per package and in all`, async () => {
    const user = randomUUID();
    const samePackage = await Promise.all(
      Array.from({ length: CONCURRENT }, () =>
        inOwnTransaction(pool, BEGIN_SQL, [user, "open_a", T0, 100, 2, 100]),
      ),
    );
    expect(created(samePackage)).toBe(2);
    // Different packages take different package locks: only the user's own lock serialises them.
    const other = randomUUID();
    const packages = ["open_a", "open_b", "open_c"];
    const spread = await Promise.all(
      Array.from({ length: CONCURRENT }, (_, i) =>
        inOwnTransaction(pool, BEGIN_SQL, [other, packages[i % packages.length], T0, 3, 100, 100]),
      ),
    );
    expect(created(spread)).toBe(3);
  });

  it(`${CONCURRENT} success-page polls of one user's orders at once: exactly the minute's queries are claimed`, async () => {
    const user = randomUUID();
    const orders: string[] = [];
    for (let i = 0; i < CONCURRENT; i += 1) {
      orders.push(
        (
          await ledger.call<{ id: string }>("create_order", {
            p_user_id: user,
            p_package_id: "open_b",
            p_provider: "stripe",
            p_now: T0,
          })
        ).id,
      );
    }
    const answers = await Promise.all(
      orders.map((orderId) =>
        inOwnTransaction(
          pool,
          "select payguard.claim_confirm_check($1, $2, $3, $4) ->> 'outcome' as outcome",
          [orderId, T0, CONFIRM_INTERVAL_MS, QUERIES_PER_MINUTE],
        ),
      ),
    );
    expect(answers.filter((outcome) => outcome === "claimed")).toHaveLength(QUERIES_PER_MINUTE);
  });
});
