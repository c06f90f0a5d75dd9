/**
 * Daily WeChat Pay bill check (cron 02:30 UTC = 10:30 Beijing, after WeChat publishes the bill at
 * 10:00): download yesterday's ALL bill, compare every row with our orders, and open an incident per
 * discrepancy. Incident keys are per kind and order, so running a day twice opens nothing new.
 */
import type { Config } from "../env.ts";
import type { IncidentInput, LedgerStore } from "../ledger/ports.ts";
import { downloadTradeBill, parseTradeBill } from "../providers/wechatpay/bill.ts";
import { type BillFinding, diffTradeBill } from "../providers/wechatpay/bill-diff.ts";
import type { WechatClientDeps } from "../providers/wechatpay/client.ts";

const BEIJING_OFFSET_MS = 8 * 3600_000;
const DAY_MS = 24 * 3600_000;

/** The Beijing calendar day before `nowMs`, as YYYY-MM-DD, with its UTC bounds. */
export function previousBeijingDay(nowMs: number): { billDate: string; fromMs: number; toMs: number } {
  const beijingMidnightMs = Math.floor((nowMs + BEIJING_OFFSET_MS) / DAY_MS) * DAY_MS - BEIJING_OFFSET_MS;
  const fromMs = beijingMidnightMs - DAY_MS;
  return {
    billDate: new Date(fromMs + BEIJING_OFFSET_MS).toISOString().slice(0, 10),
    fromMs,
    toMs: beijingMidnightMs,
  };
}

export function incidentForFinding(billDate: string, finding: BillFinding): IncidentInput {
  const critical = finding.kind === "missing_here" || finding.kind === "amount_differs";
  return {
    key: `bill_${finding.kind}:${finding.orderId}`,
    kind: `bill_${finding.kind}`,
    severity: critical ? "critical" : "warning",
    summary: `WeChat Pay bill ${billDate}: ${finding.kind.replace("_", " ")} for order ${finding.orderId}`,
    detail: { bill_date: billDate, ...finding },
  };
}

async function raiseAll(store: LedgerStore, incidents: IncidentInput[], nowMs: number): Promise<number> {
  let opened = 0;
  for (const incident of incidents) {
    const result = await store.openIncident({ ...incident, nowMs });
    if (!result.ok) throw new Error(`incident ${incident.key}: ${result.error.message}`);
    if (result.value.opened) opened += 1;
  }
  return opened;
}

export async function checkWechatBill(
  deps: { config: Pick<Config, "wechat">; store: LedgerStore },
  client: WechatClientDeps,
  nowMs: number,
  day = previousBeijingDay(nowMs),
): Promise<Record<string, unknown>> {
  const config = deps.config.wechat;
  if (!config) return { skipped: "wechatpay is not enabled" };
  const csv = await downloadTradeBill(config, client, day.billDate);
  if (!csv.ok) {
    if (csv.error.code === "NO_STATEMENT_EXIST") return { bill_date: day.billDate, rows: 0, findings: 0 };
    throw new Error(`bill ${day.billDate}: ${csv.error.code} ${csv.error.message}`);
  }
  const rows = parseTradeBill(csv.value);
  if (!rows.ok) throw new Error(`bill ${day.billDate}: ${rows.error.message}`);
  const orders = await deps.store.ordersForBill({
    provider: "wechatpay",
    fromMs: day.fromMs,
    toMs: day.toMs,
    orderIds: rows.value.map((row) => row.outTradeNo),
  });
  if (!orders.ok) throw new Error(`orders for bill: ${orders.error.message}`);
  const findings = diffTradeBill(rows.value, orders.value);
  const opened = await raiseAll(
    deps.store,
    findings.map((f) => incidentForFinding(day.billDate, f)),
    nowMs,
  );
  return {
    bill_date: day.billDate,
    rows: rows.value.length,
    findings: findings.length,
    incidents_opened: opened,
  };
}
