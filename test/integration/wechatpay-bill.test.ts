import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getDeps } from "../../src/deps.ts";
import { checkWechatBill, previousBeijingDay } from "../../src/reconcile/wechat-bill.ts";
import { sandbox, seedPackage, sql } from "../support/worker/harness.ts";
import { createWechatOrder, wechatScenario } from "../support/worker/wechat.ts";

const DAY_MS = 24 * 3600_000;
/** Two Beijing days ago: its bill is always published, whatever the time of day the test runs. */
const day = previousBeijingDay(Date.now() - DAY_MS);
const NOON_MS = day.fromMs + 12 * 3600_000;

async function fulfilInOurLedger(orderId: string, amountMinor = 990) {
  await sql(
    `select payguard.apply_payment(p_provider => 'wechatpay', p_order_id => $1, p_payment_ref => $2,
       p_amount_minor => $3, p_currency => 'CNY', p_paid_at => $4::timestamptz, p_source => 'webhook',
       p_now => $4::timestamptz)`,
    [orderId, `tx_${orderId}`, amountMinor, new Date(NOON_MS).toISOString()],
  );
}

describe("WeChat Pay daily bill check", () => {
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    await seedPackage();
    for (const name of ["matching", "missingHere", "missingThere", "amountOff"]) {
      ids[name] = await createWechatOrder(crypto.randomUUID());
    }
    await sandbox("clock", { setMs: NOON_MS });
    await wechatScenario("pay", { outTradeNo: ids.matching, amountMinor: 990 });
    await wechatScenario("pay", { outTradeNo: ids.missingHere, amountMinor: 990 });
    await wechatScenario("pay", { outTradeNo: ids.amountOff, amountMinor: 500 });
    await sandbox("clock", { setMs: Date.now() });
    await fulfilInOurLedger(ids.matching as string);
    await fulfilInOurLedger(ids.missingThere as string);
    await fulfilInOurLedger(ids.amountOff as string);
  });
  afterAll(() => sandbox("clock", { setMs: Date.now() }));

  const incidentsFor = (orderId: string) =>
    sql<{ kind: string; severity: string }>(
      "select kind, severity from payguard.incidents where key like $1 order by kind",
      [`bill_%:${orderId}`],
    );

  it("opens one incident per planted discrepancy and none for the matching order", async () => {
    const result = await checkWechatBill(
      getDeps(env),
      { fetch: (i, init) => fetch(i, init), clock: Date.now },
      Date.now(),
      day,
    );
    expect(result).toMatchObject({ bill_date: day.billDate });
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

  it("opens nothing new when the same day is checked again", async () => {
    const again = await checkWechatBill(
      getDeps(env),
      { fetch: (i, init) => fetch(i, init), clock: Date.now },
      Date.now(),
      day,
    );
    expect(again).toMatchObject({ incidents_opened: 0 });
  });
});
