/**
 * A large merchant's ledger for `npm run bench:audit`, generated in SQL on the scratch database as its owner:
 * users, orders (fulfilled, partially refunded, refunded, expired) with their purchases, refunds and
 * clawbacks, a few failed refunds, operator adjustments up to the ledger size asked for, and every balance
 * summed from the ledger. Consistent, so the audit finds nothing but what is planted. History is loaded with
 * the audit's change triggers off (it predates the change log) and the secondary indexes built after it.
 */
import type pg from "pg";

export interface AuditDataSize {
  users: number;
  orders: number;
  ledgerRows: number;
}

/** Findings planted in the history (only a full pass can find them) and in the last hour (the changes). */
export interface PlantedFinding {
  key: string;
  where: "history" | "last_hour";
}

const TABLES = ["payment_orders", "credit_ledger", "credit_balances", "payment_refunds", "refund_failures"];
const AUDIT_TRIGGERS: Array<[string, string]> = [
  ["credit_ledger", "credit_ledger_audit"],
  ["credit_balances", "credit_balances_audit"],
  ["payment_orders", "payment_orders_audit_insert"],
  ["payment_orders", "payment_orders_audit_update"],
  ["payment_orders", "payment_orders_audit_delete"],
  ["payment_refunds", "payment_refunds_audit"],
  ["refund_failures", "refund_failures_audit"],
];
/** Two years of history, oldest first. */
const HISTORY_MS = 2 * 365 * 86_400_000;
/** One order in this many has a refund that failed (kept in refund_failures, clawback reversed). */
const FAILED_REFUND_EVERY = 1_000;

export const orderId = (n: number) => `ord_${String(n).padStart(10, "0")}`;
/** The user of a generated number, as SQL computes it: `md5('user' || n)::uuid`. */
const userSql = (n: string) => `md5('user' || (${n}))::uuid`;

async function timed(client: pg.Client, label: string, sql: string, params: unknown[] = []) {
  const started = performance.now();
  const result = await client.query(sql, params);
  console.log(`  ${label}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return result;
}

async function setAuditTriggers(client: pg.Client, enabled: boolean) {
  for (const [table, trigger] of AUDIT_TRIGGERS)
    await client.query(`alter table payguard.${table} ${enabled ? "enable" : "disable"} trigger ${trigger}`);
}

/** Drops the indexes no constraint needs and answers how to build them again. */
async function dropSecondaryIndexes(client: pg.Client): Promise<string[]> {
  const { rows } = await client.query<{ name: string; def: string }>(
    `select i.indexrelid::regclass::text as name, pg_get_indexdef(i.indexrelid) as def
       from pg_index i join pg_class t on t.oid = i.indrelid join pg_namespace n on n.oid = t.relnamespace
      where n.nspname = 'payguard' and t.relname = any($1)
        and not exists (select 1 from pg_constraint c where c.conindid = i.indexrelid)`,
    [TABLES],
  );
  for (const row of rows) await client.query(`drop index ${row.name}`);
  return rows.map((row) => row.def);
}

export async function generateHistory(client: pg.Client, size: AuditDataSize, endMs: number) {
  const stepS = HISTORY_MS / 1000 / size.orders;
  const start = new Date(endMs - HISTORY_MS).toISOString();
  await client.query("set maintenance_work_mem = '1GB'");
  await client.query("set work_mem = '256MB'");
  await setAuditTriggers(client, false);
  const indexes = await dropSecondaryIndexes(client);
  await client.query(`insert into payguard.credit_packages (id, name, amount_minor, currency, credits)
    values ('credits_100', '100 credits', 1999, 'USD', 100) on conflict do nothing`);
  await timed(
    client,
    `${size.orders} orders`,
    `insert into payguard.payment_orders (id, user_id, package_id, provider, status, amount_minor, currency,
       credits, provider_ref, payment_ref, refunded_minor, source, paid_at, expires_at, created_at, updated_at)
     select 'ord_' || lpad(i::text, 10, '0'), ${userSql("i % $2")}, 'credits_100', 'stripe',
            case when i % 100 < 85 then 'fulfilled' when i % 100 < 90 then 'partially_refunded'
                 when i % 100 < 95 then 'refunded' else 'expired' end,
            1999, 'USD', 100, 'cs_' || i, case when i % 100 < 95 then 'pi_' || i end,
            case when i % 100 between 85 and 89 then 999 when i % 100 between 90 and 94 then 1999 else 0 end,
            'webhook', case when i % 100 < 95 then t + interval '1 minute' end, t + interval '30 minutes', t,
            t + interval '1 minute'
       from generate_series(1, $1::int) i, lateral (select $3::timestamptz + make_interval(secs => i * $4::float8) as t) x`,
    [size.orders, size.users, start, stepS],
  );
  await timed(
    client,
    "purchases",
    `insert into payguard.credit_ledger (user_id, order_id, kind, credits, provider, created_at)
     select o.user_id, o.id, 'purchase', 100, 'stripe', o.paid_at from payguard.payment_orders o
      where o.paid_at is not null and o.id <> $1 order by o.id`,
    [orderId(200)],
  );
  await timed(
    client,
    "refunds",
    `insert into payguard.payment_refunds (provider, refund_ref, order_id, payment_ref, amount_minor, currency,
       status, credits_clawed_back, reversed_at, applied_at)
     select 'stripe', 're_' || substr(o.id, 5), o.id, o.payment_ref,
            case when o.refunded_minor > 0 then o.refunded_minor else 1999 end, 'USD',
            case when o.refunded_minor > 0 then 'succeeded' else 'failed' end,
            case o.refunded_minor when 999 then 50 else 100 end,
            case when o.refunded_minor = 0 then o.paid_at + interval '2 days' end, o.paid_at + interval '1 day'
       from payguard.payment_orders o
      where o.refunded_minor > 0 or (o.status = 'fulfilled' and substr(o.id, 5)::bigint % $1 = 0)`,
    [FAILED_REFUND_EVERY],
  );
  await client.query(`insert into payguard.refund_failures (provider, refund_ref, failed_at)
    select provider, refund_ref, reversed_at from payguard.payment_refunds where status = 'failed'`);
  await timed(
    client,
    "clawbacks and reversals",
    `insert into payguard.credit_ledger (user_id, order_id, kind, credits, provider, refund_ref, created_at)
     select o.user_id, r.order_id, 'clawback', -r.credits_clawed_back, 'stripe', r.refund_ref, r.applied_at
       from payguard.payment_refunds r join payguard.payment_orders o on o.id = r.order_id
     union all
     select o.user_id, r.order_id, 'adjustment', r.credits_clawed_back, 'stripe', r.refund_ref, r.reversed_at
       from payguard.payment_refunds r join payguard.payment_orders o on o.id = r.order_id
      where r.status = 'failed'`,
  );
  const { rows } = await client.query<{ n: string }>("select count(*) as n from payguard.credit_ledger");
  const adjustments = Math.max(0, size.ledgerRows - Number(rows[0]?.n ?? 0));
  await timed(
    client,
    `${adjustments} adjustments`,
    `insert into payguard.credit_ledger (user_id, kind, credits, note, created_at)
     select ${userSql("j % $2")}, 'adjustment', case when j % 3 = 0 then -2 else 5 end, 'operator adjustment',
            $3::timestamptz + make_interval(secs => j * $4::float8)
       from generate_series(1, $1::int) j`,
    [adjustments, size.users, start, HISTORY_MS / 1000 / Math.max(1, adjustments)],
  );
  await timed(
    client,
    "balances",
    `insert into payguard.credit_balances (user_id, credits, updated_at)
     select user_id, sum(credits), max(created_at) from payguard.credit_ledger group by user_id`,
  );
  const planted = await plantInHistory(client, size);
  for (const [n, def] of indexes.entries()) await timed(client, `index ${n + 1}/${indexes.length}`, def);
  await setAuditTriggers(client, true);
  await timed(client, "analyze", "analyze");
  return planted;
}

/** Findings in rows no trigger saw: only the full pass can find them. */
async function plantInHistory(client: pg.Client, size: AuditDataSize): Promise<PlantedFinding[]> {
  const drifted = await client.query<{ user_id: string }>(
    `update payguard.credit_balances set credits = credits + 1 where user_id = ${userSql("$1::int")} returning user_id`,
    [Math.floor(size.users / 2)],
  );
  await client.query("update payguard.payment_orders set status = 'expired' where id = $1", [orderId(100)]);
  await client.query(
    "insert into payguard.refund_failures (provider, refund_ref, failed_at) values ('stripe', $1, now())",
    [`re_${orderId(185).slice(4)}`],
  );
  return [
    { key: `audit:balance_mismatch:${drifted.rows[0]?.user_id}`, where: "history" },
    { key: `audit:grant_without_fulfilled_order:${orderId(100)}`, where: "history" },
    { key: `audit:refund_failure_unapplied:stripe:re_${orderId(185).slice(4)}`, where: "history" },
    { key: `audit:fulfilled_without_grant:${orderId(200)}`, where: "history" },
  ];
}

/**
 * The last hour's traffic through the settlement functions, one transaction per order as the worker runs
 * them (`concurrency` at a time), then findings in it that the changes must reveal.
 */
export async function generateLastHour(
  pool: pg.Pool,
  size: AuditDataSize,
  orders: number,
  nowMs: number,
): Promise<PlantedFinding[]> {
  const now = new Date(nowMs).toISOString();
  const settle = async (n: number) => {
    const id = `hour_${String(n).padStart(8, "0")}`;
    const client = await pool.connect();
    try {
      await client.query("begin");
      await client.query(
        `select payguard.create_order(p_user_id => ${userSql("$1::int")}, p_package_id => 'credits_100',
           p_provider => 'stripe', p_now => $2, p_order_id => $3)`,
        [n % size.users, now, id],
      );
      if (n > 1)
        await client.query(
          `select payguard.apply_payment(p_provider => 'stripe', p_order_id => $1, p_payment_ref => $2,
             p_amount_minor => 1999, p_currency => 'USD', p_paid_at => $3, p_source => 'webhook', p_now => $3)`,
          [id, `pi_${id}`, now],
        );
      await client.query("commit");
    } catch (error) {
      await client.query("rollback");
      throw error;
    } finally {
      client.release();
    }
  };
  const started = performance.now();
  let next = 1;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next <= orders) await settle(next++);
    }),
  );
  console.log(`  ${orders} orders settled: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const drifted = await pool.query<{ user_id: string }>(
    `update payguard.credit_balances set credits = credits - 1 where user_id = ${userSql("$1::int")} returning user_id`,
    [2 % size.users],
  );
  await pool.query(
    `update payguard.payment_orders set status = 'fulfilled', payment_ref = 'pi_lost', paid_at = $2
      where id = $1`,
    ["hour_00000001", now],
  );
  const stuck = await pool.query<{ id: string }>(
    `select payguard.create_order(p_user_id => gen_random_uuid(), p_package_id => 'credits_100',
       p_provider => 'stripe', p_now => $1) ->> 'id' as id`,
    [new Date(nowMs - 3 * 3_600_000).toISOString()],
  );
  await pool.query(
    `select payguard.record_event(p_provider => 'stripe', p_event_id => 'evt_bench_failed',
    p_event_type => 'charge.refunded', p_order_id => null, p_now => $1)`,
    [now],
  );
  await pool.query(
    `select payguard.finish_event(p_provider => 'stripe', p_event_id => 'evt_bench_failed',
    p_status => 'failed', p_error => 'order not found', p_now => $1)`,
    [now],
  );
  return [
    { key: `audit:balance_mismatch:${drifted.rows[0]?.user_id}`, where: "last_hour" },
    { key: "audit:fulfilled_without_grant:hour_00000001", where: "last_hour" },
    { key: `audit:pending_past_expiry:${stuck.rows[0]?.id}`, where: "last_hour" },
    { key: "audit:failed_inbox_event:stripe:evt_bench_failed", where: "last_hour" },
  ];
}
