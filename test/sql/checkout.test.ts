import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LedgerDb, ledgerBackends } from "../support/node/ledger-db.ts";

const T0 = "2026-11-22T12:00:00.000Z";
const HASH_A = "a".repeat(64);
const HASH_B = "b".repeat(64);
const EXPIRES_IN_S = 3600;

interface Begin {
  outcome: string;
  order: { id: string; status: string; credits: number; expires_at: string } | null;
  response: unknown;
}

describe.each(ledgerBackends("checkout SQL"))("checkout functions on %s", (_name, open) => {
  let ledger: LedgerDb;
  beforeAll(async () => {
    ledger = await open();
    await ledger.db.exec(`insert into payguard.credit_packages
      (id, name, amount_minor, currency, credits, bonus_credits, active, stock_limit) values
      ('plain', '100 credits', 1999, 'USD', 100, 0, true, null),
      ('bonus', '120 credits', 2999, 'USD', 120, 20, true, 2),
      ('retired', 'old', 100, 'USD', 1, 0, false, null)`);
  });
  afterAll(() => ledger.close());

  const begin = (user: string, key: string | null, hash = HASH_A, pkg = "bonus") =>
    ledger.call<Begin>("checkout_begin", {
      p_user_id: user,
      p_package_id: pkg,
      p_provider: "stripe",
      p_idempotency_key: key,
      p_request_hash: hash,
      p_now: T0,
      p_expires_in_seconds: EXPIRES_IN_S,
    });
  const orderCount = async (user: string) =>
    Number(
      (
        await ledger.db.query<{ n: string }>(
          "select count(*) as n from payguard.payment_orders where user_id = $1",
          [user],
        )
      ).rows[0]?.n,
    );

  it("lists active packages with bonus and remaining stock", async () => {
    const user = randomUUID();
    await begin(user, null);
    const packages = await ledger.call<Array<Record<string, unknown>>>("list_packages", {});
    expect(packages.map((p) => p.id)).toEqual(["plain", "bonus"]);
    expect(packages[1]).toMatchObject({
      credits: 120,
      bonus_credits: 20,
      stock_limit: 2,
      stock_remaining: 1,
    });
    expect(packages[0]).toMatchObject({ stock_limit: null, stock_remaining: null });
  });

  it("snapshots the credits including the bonus and the configured expiry", async () => {
    const created = await begin(randomUUID(), null, HASH_A, "plain");
    expect(created.outcome).toBe("created");
    expect(Date.parse(created.order?.expires_at ?? "")).toBe(Date.parse(T0) + EXPIRES_IN_S * 1000);
  });

  it("replays the same key and body: same order, stored answer, nothing new", async () => {
    const user = randomUUID();
    const first = await begin(user, "key-1", HASH_A, "plain");
    expect(first.outcome).toBe("created");
    const orderId = first.order?.id as string;
    const unfinished = await begin(user, "key-1", HASH_A, "plain");
    expect(unfinished).toMatchObject({ outcome: "replayed", order: { id: orderId }, response: null });
    await ledger.call("checkout_complete", {
      p_user_id: user,
      p_order_id: orderId,
      p_idempotency_key: "key-1",
      p_provider_ref: "cs_test_replay",
      p_response: { orderId, url: "https://pay.example/x" },
      p_now: T0,
    });
    const again = await begin(user, "key-1", HASH_A, "plain");
    expect(again).toMatchObject({ outcome: "replayed", response: { orderId, url: "https://pay.example/x" } });
    expect(await orderCount(user)).toBe(1);
  });

  it("refuses the same key with another body, and keys are per user", async () => {
    const user = randomUUID();
    await begin(user, "key-2", HASH_A, "plain");
    expect((await begin(user, "key-2", HASH_B, "plain")).outcome).toBe("conflict");
    expect(await orderCount(user)).toBe(1);
    expect((await begin(randomUUID(), "key-2", HASH_B, "plain")).outcome).toBe("created");
  });

  it("answers unknown_package for inactive or missing packages, writing nothing", async () => {
    const user = randomUUID();
    expect((await begin(user, "k", HASH_A, "retired")).outcome).toBe("unknown_package");
    expect((await begin(user, "k2", HASH_A, "nope")).outcome).toBe("unknown_package");
    expect(await orderCount(user)).toBe(0);
  });

  it("aborting fails the order, returns its unit and frees the key for a fresh attempt", async () => {
    await ledger.db.exec("update payguard.credit_packages set stock_limit = 1 where id = 'plain'");
    await ledger.db.exec("update payguard.payment_orders set status = 'failed' where package_id = 'plain'");
    const user = randomUUID();
    const first = await begin(user, "key-3", HASH_A, "plain");
    expect((await begin(randomUUID(), null, HASH_A, "plain")).outcome).toBe("out_of_stock");
    const aborted = await ledger.call<{ outcome: string }>("checkout_abort", {
      p_user_id: user,
      p_order_id: first.order?.id,
      p_idempotency_key: "key-3",
      p_reason: "provider: stripe 503",
      p_now: T0,
    });
    expect(aborted.outcome).toBe("failed");
    const retry = await begin(user, "key-3", HASH_A, "plain");
    expect(retry.outcome).toBe("created");
    expect(retry.order?.id).not.toBe(first.order?.id);
    await ledger.db.exec("update payguard.credit_packages set stock_limit = null where id = 'plain'");
  });

  it("create_order re-checks an order id after the package lock and refuses another provider", async () => {
    const user = randomUUID();
    const order = await ledger.call<{ id: string }>("create_order", {
      p_user_id: user,
      p_package_id: "plain",
      p_provider: "stripe",
      p_now: T0,
    });
    await expect(
      ledger.call("create_order", {
        p_user_id: user,
        p_package_id: "plain",
        p_provider: "wechatpay",
        p_now: T0,
        p_order_id: order.id,
      }),
    ).rejects.toMatchObject({ code: "P0001" });
  });

  it("nobody but service_role reaches the idempotency table or the checkout functions", async () => {
    await expect(
      ledger.asRole("authenticated", "select * from payguard.checkout_requests"),
    ).rejects.toMatchObject({
      code: "42501",
    });
    await expect(ledger.call("list_packages", {}, "anon")).rejects.toMatchObject({ code: "42501" });
  });
});
