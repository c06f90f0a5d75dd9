/**
 * Abuse limits of the public API over HTTP, in workerd against the stand-in and the sandbox, with small
 * limits so each is reached in a few requests: unpaid checkouts per package and in all, units of a limited
 * package per user (409, nothing written, a replay still answered), the success page's provider queries
 * per user per minute (429 with Retry-After, the per-order throttle answered first); and `/health`, which
 * answers anyone from a short cache with what uptime checks need and shows the alert channels only to an
 * operator (admin token or console session).
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { HEALTH_CACHE_TTL_MS } from "../../src/http/health.ts";
import { userToken } from "../support/worker/auth.ts";
import { send, signIn } from "../support/worker/console.ts";
import { sql } from "../support/worker/harness.ts";

const SMALL_LIMITS: Record<string, string> = {
  CHECKOUT_PENDING_PER_USER_MAX: "3",
  CHECKOUT_PENDING_PER_USER_PACKAGE_MAX: "2",
  CHECKOUT_STOCK_PER_USER_MAX: "1",
  CONFIRM_QUERIES_PER_USER_MINUTE_MAX: "2",
};
const limited: Env = { ...env, ...SMALL_LIMITS };

async function checkout(user: string, packageId: string, key?: string) {
  const headers: Record<string, string> = {
    authorization: `Bearer ${await userToken(user)}`,
    "content-type": "application/json",
  };
  if (key) headers["idempotency-key"] = key;
  const body = JSON.stringify({ packageId, provider: "stripe" });
  const response = await send("/api/checkout", { method: "POST", headers, body }, limited);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const pendingOf = async (user: string) =>
  (
    await sql<{ n: number }>(
      "select count(*)::int as n from payguard.payment_orders where user_id = $1::uuid and status = 'pending'",
      [user],
    )
  )[0]?.n;

beforeAll(async () => {
  await sql(`insert into payguard.credit_packages (id, name, amount_minor, currency, credits, active, stock_limit)
    values ('limits_a', 'Limits A', 500, 'USD', 50, true, null), ('limits_b', 'Limits B', 700, 'USD', 70, true, null),
           ('limits_drop', 'Limits drop', 900, 'USD', 90, true, 5)
    on conflict (id) do nothing`);
});

describe("checkout limits per user", () => {
  const user = crypto.randomUUID();
  let orderIds: string[] = [];

  it("refuses a third unpaid checkout of one package and a fourth in all (409, named, nothing written); a replay still answers", async () => {
    const first = await checkout(user, "limits_a", "limits-key-1");
    expect(first.status).toBe(201);
    expect((await checkout(user, "limits_a")).status).toBe(201);
    expect(await checkout(user, "limits_a")).toEqual({
      status: 409,
      body: {
        error: "package_pending_limit",
        message: "you already have 2 unpaid checkouts of this package: pay one or wait until one expires",
        limit: 2,
        retryable: false,
      },
    });
    expect((await checkout(user, "limits_b")).status).toBe(201);
    expect(await checkout(user, "limits_drop")).toMatchObject({
      status: 409,
      body: { error: "pending_limit", limit: 3, retryable: false },
    });
    expect(await pendingOf(user)).toBe(3);
    expect(await checkout(user, "limits_a", "limits-key-1")).toEqual({ status: 200, body: first.body });
    orderIds = (
      await sql<{ id: string }>(
        "select id from payguard.payment_orders where user_id = $1::uuid order by created_at, id",
        [user],
      )
    ).map((row) => row.id);
  });

  it("lets one user hold one unit of a limited package, pending or bought, and others buy the rest", async () => {
    const hoarder = crypto.randomUUID();
    expect((await checkout(hoarder, "limits_drop")).status).toBe(201);
    expect(await checkout(hoarder, "limits_drop")).toMatchObject({
      status: 409,
      body: { error: "stock_per_user_limit", limit: 1 },
    });
    expect((await checkout(crypto.randomUUID(), "limits_drop")).status).toBe(201);
    expect(await pendingOf(hoarder)).toBe(1);
  });

  it("allows the success page two provider queries a minute per user, then 429 with Retry-After; each order's own throttle first", async () => {
    const poll = async (orderId: string) =>
      send(
        `/api/orders/${orderId}`,
        { headers: { authorization: `Bearer ${await userToken(user)}` } },
        limited,
      );
    const [a, b, c] = orderIds as [string, string, string];
    expect((await poll(a)).status).toBe(200);
    expect((await poll(b)).status).toBe(200);
    // Queried moments ago: answered from what is stored, not counted, not refused.
    expect((await poll(a)).status).toBe(200);
    const refused = await poll(c);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await refused.json()).toMatchObject({ error: "confirm_rate_limit" });
    const checked = await sql("select 1 from payguard.confirm_checks where order_id = $1", [c]);
    expect(checked).toHaveLength(0);
  });
});

interface Health {
  ok: boolean;
  alerts: { on: boolean; channels?: Record<string, unknown>; mirrorBacklog?: number };
  sales: { paused: string[] };
  asOf: string;
}

const health = async (headers: Record<string, string> = {}) => {
  const response = await send("/health", { headers });
  return { status: response.status, body: (await response.json()) as Health };
};

describe("/health", () => {
  it("answers anyone ok, the version and whether alerts are on, without the channels' state", async () => {
    const { status, body } = await health();
    expect(status).toBe(200);
    expect(body).toMatchObject({ ok: true, version: expect.any(String), alerts: { on: true } });
    expect(body.alerts).toEqual({ on: true });
    expect(Number.isNaN(Date.parse(body.asOf))).toBe(false);
  });

  it("shows each channel and the mirror backlog to an admin token and to a signed-in operator; a wrong token is 401", async () => {
    const byToken = await health({ authorization: `Bearer ${env.ADMIN_TOKEN}` });
    expect(Object.keys(byToken.body.alerts.channels ?? {}).length).toBeGreaterThan(0);
    expect(byToken.body.alerts.mirrorBacklog).toEqual(expect.any(Number));
    const { cookie } = await signIn("10.26.0.1");
    expect((await health({ cookie })).body.alerts.channels).toEqual(byToken.body.alerts.channels);
    const wrong = { authorization: "Bearer not-an-admin-token-at-all", "cf-connecting-ip": "10.26.0.2" };
    expect((await health(wrong)).status).toBe(401);
  });

  it("answers anyone from a snapshot at most the TTL old; an operator sees it live", async () => {
    const scope = `health_cache_${crypto.randomUUID().slice(0, 8)}`;
    const first = (await health()).body;
    await sql(
      "insert into payguard.sales_pauses (scope, paused_at, paused_by, reason) values ($1, now(), 'test', 'cache')",
      [scope],
    );
    try {
      const second = (await health()).body;
      if (second.asOf === first.asOf) {
        expect(second.sales).toEqual(first.sales);
        expect(second.sales.paused).not.toContain(scope);
      } else {
        // The first answer's snapshot ran out of time in between: the new one is a TTL younger at least.
        expect(Date.parse(second.asOf) - Date.parse(first.asOf)).toBeGreaterThanOrEqual(HEALTH_CACHE_TTL_MS);
        expect(second.sales.paused).toContain(scope);
      }
      const live = (await health({ authorization: `Bearer ${env.ADMIN_TOKEN}` })).body;
      expect(live.sales.paused).toContain(scope);
    } finally {
      await sql("delete from payguard.sales_pauses where scope = $1", [scope]);
    }
  });
});
