import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getDeps } from "../../src/deps.ts";
import { settleOrder } from "../../src/guard/settle-order.ts";
import { checkWechatBill, previousBeijingDay } from "../../src/reconcile/wechat-bill.ts";
import { sandbox, seedPackage, sql } from "../support/worker/harness.ts";
import { createWechatOrder, wechatScenario } from "../support/worker/wechat.ts";

const DAY_MS = 24 * 3600_000;
/** Two Beijing days ago: its bill is always published, whatever the time of day the test runs. */
const day = previousBeijingDay(Date.now() - DAY_MS);
const NOON_MS = day.fromMs + 12 * 3600_000;

async function fulfilInOurLedger(orderId: string, amountMinor = 990, paymentRef = `tx_${orderId}`) {
  await sql(
    `select payguard.apply_payment(p_provider => 'wechatpay', p_order_id => $1, p_payment_ref => $2,
       p_amount_minor => $3, p_currency => 'CNY', p_paid_at => $4::timestamptz, p_source => 'webhook',
       p_now => $4::timestamptz)`,
    [orderId, paymentRef, amountMinor, new Date(NOON_MS).toISOString()],
  );
}

describe("WeChat Pay daily bill check", () => {
  const ids: Record<string, string> = {};
  let firstCheck: Awaited<ReturnType<typeof checkWechatBill>>;

  beforeAll(async () => {
    await seedPackage();
    for (const name of [
      "matching",
      "missingHere",
      "missingThere",
      "amountOff",
      "refunded",
      "refundStuck",
      "refundedTwice",
    ]) {
      ids[name] = await createWechatOrder(crypto.randomUUID());
    }
    await sandbox("clock", { setMs: NOON_MS });
    await wechatScenario("pay", { outTradeNo: ids.matching, amountMinor: 990 });
    await wechatScenario("pay", { outTradeNo: ids.missingHere, amountMinor: 990 });
    await wechatScenario("pay", { outTradeNo: ids.amountOff, amountMinor: 500 });
    const payAtWechat = async (outTradeNo: string | undefined) =>
      (
        await sandbox<{ transactionId: string }>("wechat/pay", {
          outTradeNo,
          amountMinor: 990,
          deliver: false,
        })
      ).transactionId;
    const refundedTx = await payAtWechat(ids.refunded);
    const stuckTx = await payAtWechat(ids.refundStuck);
    const twiceTx = await payAtWechat(ids.refundedTwice);
    await sandbox("clock", { setMs: NOON_MS + 3600_000 });
    // Refunded at WeChat (in the merchant console, say): the REFUND notifications are dropped.
    await wechatScenario("refund", { outTradeNo: ids.refunded, amountMinor: 990 });
    await wechatScenario("refund", { outTradeNo: ids.refundStuck, amountMinor: 990, status: "ABNORMAL" });
    await wechatScenario("refund", { outTradeNo: ids.refundedTwice, amountMinor: 300 });
    await wechatScenario("refund", { outTradeNo: ids.refundedTwice, amountMinor: 400 });
    await sandbox("clock", { setMs: Date.now() });
    await fulfilInOurLedger(ids.refunded as string, 990, refundedTx);
    await fulfilInOurLedger(ids.refundStuck as string, 990, stuckTx);
    await fulfilInOurLedger(ids.refundedTwice as string, 990, twiceTx);
    await fulfilInOurLedger(ids.matching as string);
    await fulfilInOurLedger(ids.missingThere as string);
    await fulfilInOurLedger(ids.amountOff as string);
    // The first check of the day, which every test below looks at, whatever order they run in.
    firstCheck = await checkWechatBill(
      env,
      getDeps(env),
      { fetch: (i, init) => fetch(i, init), clock: Date.now },
      Date.now(),
      day,
    );
  });
  afterAll(() => sandbox("clock", { setMs: Date.now() }));

  const incidentsFor = (orderId: string) =>
    sql<{ kind: string; severity: string }>(
      "select kind, severity from payguard.incidents where key like $1 order by kind",
      [`bill_%:${orderId}%`],
    );

  const clawbacks = async (orderId: string) =>
    (
      await sql<{ n: number }>(
        "select count(*)::int as n from payguard.credit_ledger where order_id = $1 and kind = 'clawback'",
        [orderId],
      )
    )[0]?.n;

  it("opens one incident per planted discrepancy and none for the matching order", async () => {
    expect(firstCheck).toMatchObject({ bill_date: day.billDate, refunds_settled: 3 });
    expect(await incidentsFor(ids.matching as string)).toEqual([]);
    expect(await incidentsFor(ids.missingHere as string)).toEqual([
      { kind: "bill_missing_here", severity: "critical" },
    ]);
    expect(await incidentsFor(ids.missingThere as string)).toEqual([
      { kind: "bill_missing_there", severity: "warning" },
    ]);
    expect(await incidentsFor(ids.amountOff as string)).toEqual([
      { kind: "bill_amount_differs", severity: "critical" },
    ]);
  });

  it("settles a refund the bill shows and payguard never heard of, clawing back once", async () => {
    const refunded = ids.refunded as string;
    expect(await incidentsFor(refunded)).toEqual([]);
    const [order] = await sql<{ status: string }>(
      "select status from payguard.payment_orders where id = $1",
      [refunded],
    );
    expect(order?.status).toBe("refunded");
    expect(await clawbacks(refunded)).toBe(1);
    // Two partial refunds of one order: each settled once, the order partly refunded.
    const twice = ids.refundedTwice as string;
    expect(await incidentsFor(twice)).toEqual([]);
    expect(await clawbacks(twice)).toBe(2);
    const [partly] = await sql<{ status: string }>(
      "select status from payguard.payment_orders where id = $1",
      [twice],
    );
    expect(partly?.status).toBe("partially_refunded");
    const queried = await sandbox<{ calls: { method: string; path: string; status: number }[] }>("calls");
    expect(
      queried.calls.filter((c) => c.method === "GET" && c.path.startsWith("/v3/refund/domestic/refunds/")),
    ).toContainEqual(expect.objectContaining({ status: 200 }));
  });

  it("keeps an incident for a refund it cannot settle (WeChat reports it ABNORMAL)", async () => {
    const stuck = ids.refundStuck as string;
    expect(await incidentsFor(stuck)).toEqual([{ kind: "bill_refund_missing_here", severity: "warning" }]);
    const [incident] = await sql<{ detail: { not_settled: string } }>(
      "select detail from payguard.incidents where key like $1",
      [`bill_refund_missing_here:${stuck}:%`],
    );
    expect(incident?.detail.not_settled).toContain("refund status ABNORMAL");
    expect(await clawbacks(stuck)).toBe(0);
  });

  it("opens nothing new and claws back nothing twice when the same day is checked again", async () => {
    const again = await checkWechatBill(
      env,
      getDeps(env),
      { fetch: (i, init) => fetch(i, init), clock: Date.now },
      Date.now(),
      day,
    );
    expect(again).toMatchObject({ incidents_opened: 0, refunds_settled: 0 });
    expect(await clawbacks(ids.refunded as string)).toBe(1);
    expect(await clawbacks(ids.refundedTwice as string)).toBe(2);
  });
});

describe("WeChat Pay daily bill: a refund query that fails for now", () => {
  /** Three Beijing days ago: a day of its own, so the first suite's rows are not in it. */
  const day3 = previousBeijingDay(Date.now() - 2 * DAY_MS);
  const noon3 = day3.fromMs + 12 * 3600_000;
  const check = () =>
    checkWechatBill(
      env,
      getDeps(env),
      { fetch: (i, init) => fetch(i, init), clock: Date.now },
      Date.now(),
      day3,
    );
  let orderId = "";

  beforeAll(async () => {
    await seedPackage();
    orderId = await createWechatOrder(crypto.randomUUID());
    await sandbox("clock", { setMs: noon3 });
    const { transactionId } = await sandbox<{ transactionId: string }>("wechat/pay", {
      outTradeNo: orderId,
      amountMinor: 990,
      deliver: false,
    });
    await sandbox("clock", { setMs: noon3 + 3600_000 });
    await wechatScenario("refund", { outTradeNo: orderId, amountMinor: 990 });
    await sandbox("clock", { setMs: Date.now() });
    await sql(
      `select payguard.apply_payment(p_provider => 'wechatpay', p_order_id => $1, p_payment_ref => $2,
         p_amount_minor => 990, p_currency => 'CNY', p_paid_at => $3::timestamptz, p_source => 'webhook',
         p_now => $3::timestamptz)`,
      [orderId, transactionId, new Date(noon3).toISOString()],
    );
  });
  afterAll(() => sandbox("faults", { api: [] }));

  it("keeps the refund as an incident and reports the run partial, then settles it and resolves the incident on a re-run", async () => {
    await sandbox("faults", {
      api: [{ kind: "5xx", status: 500, pathPrefix: "/v3/refund/domestic/refunds/", count: 1 }],
    });
    expect(await check()).toMatchObject({ refunds_settled: 0, refunds_failed_transiently: 1 });
    const incident = () =>
      sql<{ status: string; detail: { not_settled?: string } }>(
        "select status, detail from payguard.incidents where key like $1",
        [`bill_refund_missing_here:${orderId}:%`],
      );
    const [open] = await incident();
    expect(open?.status).toBe("open");
    expect(open?.detail.not_settled).toContain("SYSTEM_ERROR");

    await sandbox("faults", { api: [] });
    expect(await check()).toMatchObject({ refunds_settled: 1, refunds_failed_transiently: 0 });
    expect((await incident()).map((row) => row.status)).toEqual(["resolved"]);
    const [order] = await sql<{ status: string }>(
      "select status from payguard.payment_orders where id = $1",
      [orderId],
    );
    expect(order?.status).toBe("refunded");
  });
});

describe("WeChat Pay daily bill: a second refund whose notification was lost", () => {
  /** Four Beijing days ago: a day of its own, so the other suites' rows are not in it. */
  const day4 = previousBeijingDay(Date.now() - 3 * DAY_MS);
  const noon4 = day4.fromMs + 12 * 3600_000;
  const check = () =>
    checkWechatBill(
      env,
      getDeps(env),
      { fetch: (i, init) => fetch(i, init), clock: Date.now },
      Date.now(),
      day4,
    );
  const refundQueries = async () =>
    (await sandbox<{ calls: { method: string; path: string }[] }>("calls")).calls.filter(
      (c) => c.method === "GET" && c.path.startsWith("/v3/refund/domestic/refunds/"),
    ).length;
  const refundsOf = (orderId: string) =>
    sql<{ amount_minor: string; n: number }>(
      `select amount_minor::text, count(*)::int as n from payguard.payment_refunds
        where order_id = $1 group by amount_minor order by amount_minor`,
      [orderId],
    );
  const clawbacks = async (orderId: string) =>
    (
      await sql<{ n: number }>(
        "select count(*)::int as n from payguard.credit_ledger where order_id = $1 and kind = 'clawback'",
        [orderId],
      )
    )[0]?.n;
  const statusOf = async (orderId: string) =>
    (await sql<{ status: string }>("select status from payguard.payment_orders where id = $1", [orderId]))[0]
      ?.status;
  let orderId = "";

  beforeAll(async () => {
    await seedPackage();
    orderId = await createWechatOrder(crypto.randomUUID());
    await sandbox("clock", { setMs: noon4 });
    const { transactionId } = await sandbox<{ transactionId: string }>("wechat/pay", {
      outTradeNo: orderId,
      amountMinor: 990,
      deliver: false,
    });
    await sandbox("clock", { setMs: noon4 + 3600_000 });
    const first = await sandbox<{ refundId: string }>("wechat/refund", {
      outTradeNo: orderId,
      amountMinor: 300,
      deliver: false,
    });
    await sandbox("clock", { setMs: noon4 + 2 * 3600_000 });
    // The second refund's REFUND.SUCCESS notification is dropped: it is never forwarded.
    await wechatScenario("refund", { outTradeNo: orderId, amountMinor: 400 });
    await sandbox("clock", { setMs: Date.now() });
    await sql(
      `select payguard.apply_payment(p_provider => 'wechatpay', p_order_id => $1, p_payment_ref => $2,
         p_amount_minor => 990, p_currency => 'CNY', p_paid_at => $3::timestamptz, p_source => 'webhook',
         p_now => $3::timestamptz)`,
      [orderId, transactionId, new Date(noon4).toISOString()],
    );
    // The first refund's notification arrives and is settled through the order's guard, as the webhook does.
    const settled = await settleOrder(
      env,
      {
        kind: "refunded",
        provider: "wechatpay",
        orderId,
        paymentRef: transactionId,
        refundRef: first.refundId,
        amountMinor: 300,
        currency: "CNY",
        refundedAtMs: noon4 + 3600_000,
      },
      "webhook",
      Date.now(),
    );
    expect(settled).toMatchObject({ ok: true, value: { outcome: "partially_refunded" } });
  });

  it("settles the second refund from the bill, clawing it back once, and a re-run changes nothing", async () => {
    expect(await clawbacks(orderId)).toBe(1);
    const queriesBefore = await refundQueries();
    expect(await check()).toMatchObject({ refunds_settled: 1, refunds_failed_transiently: 0 });
    // Only the refund payguard had not recorded was queried at WeChat.
    expect((await refundQueries()) - queriesBefore).toBe(1);
    expect(await refundsOf(orderId)).toEqual([
      { amount_minor: "300", n: 1 },
      { amount_minor: "400", n: 1 },
    ]);
    expect(await clawbacks(orderId)).toBe(2);
    expect(await statusOf(orderId)).toBe("partially_refunded");
    const incidents = await sql("select key from payguard.incidents where key like $1", [
      `bill_%:${orderId}%`,
    ]);
    expect(incidents).toEqual([]);

    expect(await check()).toMatchObject({ refunds_settled: 0, incidents_opened: 0 });
    expect(await clawbacks(orderId)).toBe(2);
  });
});
