import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPostgresLedger } from "../support/node/ledger-db.ts";

const T0 = "2026-11-22T12:00:00.000Z";
const CHECKOUTS = 100;
const STOCK = 10;
const base = process.env.DATABASE_URL;
if (!base) console.log("stock concurrency SQL: skipped (needs a real Postgres: set DATABASE_URL)");

const CREATE_SQL = `select payguard.create_order(p_user_id => $1::uuid, p_package_id => 'scarce', p_provider => 'stripe',
  p_now => $2::timestamptz, p_expires_in_seconds => 3600) as result`;

/**
 * Connections the checkouts share, as PostgREST's pool would: 100 requests at once through 40 connections
 * (Postgres allows 100 in all, and other suites run beside this one).
 */
const POOL_CONNECTIONS_MAX = 40;

/** Each checkout in its own transaction on a pooled connection, as concurrent worker requests arrive. */
async function createInOwnTransaction(pool: pg.Pool, user: string): Promise<"created" | "out_of_stock"> {
  const client = await pool.connect();
  try {
    await client.query("begin");
    await client.query("select set_config('role', 'service_role', true)");
    await client.query(CREATE_SQL, [user, T0]);
    await client.query("commit");
    return "created";
  } catch (error) {
    await client.query("rollback").catch(() => undefined);
    if ((error as Error).message === "out_of_stock") return "out_of_stock";
    throw error;
  } finally {
    client.release();
  }
}

describe.skipIf(!base)("limited stock under real concurrency (Postgres)", () => {
  let ledger: Awaited<ReturnType<typeof openPostgresLedger>>;
  beforeAll(async () => {
    ledger = await openPostgresLedger(base as string);
    await ledger.db.exec(`insert into payguard.credit_packages (id, name, amount_minor, currency, credits, stock_limit)
      values ('scarce', 'limited drop', 990, 'CNY', 50, ${STOCK})`);
  });
  afterAll(() => ledger.close());

  const checkoutsAtOnce = async () => {
    const pool = new pg.Pool({ connectionString: ledger.url, max: POOL_CONNECTIONS_MAX });
    try {
      return await Promise.all(
        Array.from({ length: CHECKOUTS }, () => createInOwnTransaction(pool, randomUUID())),
      );
    } finally {
      await pool.end();
    }
  };

  const holding = async () =>
    (
      await ledger.db.query<{ id: string }>(
        "select id from payguard.payment_orders where package_id = 'scarce' and status = 'pending'",
      )
    ).rows.map((row) => row.id);

  it(`${CHECKOUTS} concurrent checkouts for a stock of ${STOCK}: exactly ${STOCK} hold stock; expiring them returns it`, async () => {
    const outcomes = await checkoutsAtOnce();
    expect(outcomes.filter((o) => o === "created")).toHaveLength(STOCK);
    expect(outcomes.filter((o) => o === "out_of_stock")).toHaveLength(CHECKOUTS - STOCK);
    const held = await holding();
    expect(held).toHaveLength(STOCK);
    const [listed] = await ledger.call<Array<{ stock_remaining: number }>>("list_packages", {});
    expect(listed?.stock_remaining).toBe(0);

    for (const id of held)
      await ledger.call("expire_order", { p_order_id: id, p_reason: "closed", p_now: T0 });
    const [after] = await ledger.call<Array<{ stock_remaining: number }>>("list_packages", {});
    expect(after?.stock_remaining).toBe(STOCK);
    const again = await checkoutsAtOnce();
    expect(again.filter((o) => o === "created")).toHaveLength(STOCK);
  });
});
