/**
 * WeChat Pay trade bills: download (signed request, unsigned gzip answer, SHA-1 of the bill checked),
 * parse by header name (UTF-8 BOM, back-tick-prefixed values, CRLF, two summary lines at the end,
 * yuan with decimals) into typed rows with amounts in fen. Parsing is pure and never uses floats.
 */

import { toHex } from "../../hex.ts";
import { err, ok, type Result } from "../../ledger/result.ts";
import { type WechatApiError, type WechatClientDeps, type WechatResult, wechatRequest } from "./client.ts";
import type { WechatConfig } from "./settings.ts";

export interface BillRow {
  transactionId: string;
  outTradeNo: string;
  /** SUCCESS, REFUND, REVOKED, ... as WeChat prints it. */
  tradeState: string;
  currency: string;
  /** 订单金额 (falls back to 应结订单金额): what the customer's order was for, in fen. */
  amountMinor: number;
  refundId: string | null;
  /** 商户退款单号: the out_refund_no a refund can be queried by. */
  outRefundNo: string | null;
  refundMinor: number;
  tradeTimeText: string;
}

export type BillParseError = { kind: "malformed_bill"; message: string };

/** "9.90" → 990, "-0.06" → -6; null when the text is not a decimal with at most two places. */
export function yuanToFen(text: string): number | null {
  const match = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(text.trim());
  if (!match) return null;
  const fen = Number(match[2]) * 100 + Number((match[3] ?? "").padEnd(2, "0"));
  return match[1] === "-" ? -fen : fen;
}

function splitRow(line: string): string[] {
  // Every value starts with a back-tick; splitting on ",`" keeps commas inside product names intact.
  const body = line.startsWith("`") ? line.slice(1) : line;
  return body.split(",`").map((value) => value.trim());
}

const COLUMN = {
  tradeTime: "交易时间",
  transactionId: "微信订单号",
  outTradeNo: "商户订单号",
  tradeState: "交易状态",
  currency: "货币种类",
  settlementAmount: "应结订单金额",
  orderAmount: "订单金额",
  refundId: "微信退款单号",
  outRefundNo: "商户退款单号",
  refundAmount: "退款金额",
} as const;

export function parseTradeBill(csv: string): Result<BillRow[], BillParseError> {
  const lines = csv
    .replace(/^\uFEFF/, "")
    .split(/\r?\n/)
    .filter((line) => line.trim() !== "");
  // Header, rows, then the summary header and summary row.
  if (lines.length < 3) return err({ kind: "malformed_bill", message: "bill has no header or summary" });
  const header = (lines[0] ?? "").split(",").map((name) => name.replace(/^`/, "").trim());
  const index = (name: string) => header.indexOf(name);
  const required = [COLUMN.transactionId, COLUMN.outTradeNo, COLUMN.tradeState];
  const missing = required.filter((name) => index(name) < 0);
  if (missing.length > 0)
    return err({ kind: "malformed_bill", message: `bill lacks columns ${missing.join(", ")}` });
  const rows: BillRow[] = [];
  for (const line of lines.slice(1, -2)) {
    const values = splitRow(line);
    const field = (name: string) => (index(name) >= 0 ? (values[index(name)] ?? "") : "");
    const amountText = field(COLUMN.orderAmount) || field(COLUMN.settlementAmount);
    const amountMinor = yuanToFen(amountText || "0");
    const refundMinor = yuanToFen(field(COLUMN.refundAmount) || "0");
    if (amountMinor === null || refundMinor === null) {
      return err({ kind: "malformed_bill", message: `bad amount in row for ${field(COLUMN.outTradeNo)}` });
    }
    rows.push({
      transactionId: field(COLUMN.transactionId),
      outTradeNo: field(COLUMN.outTradeNo),
      tradeState: field(COLUMN.tradeState),
      currency: (field(COLUMN.currency) || "CNY").toUpperCase(),
      amountMinor,
      refundId: ["", "0"].includes(field(COLUMN.refundId)) ? null : field(COLUMN.refundId),
      outRefundNo: ["", "0"].includes(field(COLUMN.outRefundNo)) ? null : field(COLUMN.outRefundNo),
      refundMinor,
      tradeTimeText: field(COLUMN.tradeTime),
    });
  }
  return ok(rows);
}

async function gunzip(bytes: Uint8Array<ArrayBuffer>): Promise<ArrayBuffer> {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Response(stream).arrayBuffer();
}

/** Over the bill's exact bytes (BOM included), as WeChat computes `hash_value`. */
async function sha1Hex(bytes: ArrayBuffer): Promise<string> {
  return toHex(await crypto.subtle.digest("SHA-1", bytes));
}

/** Requests the bill for `billDate` (YYYY-MM-DD, Beijing), downloads it and checks its SHA-1. */
export async function downloadTradeBill(
  config: WechatConfig,
  deps: WechatClientDeps,
  billDate: string,
  billType: "ALL" | "SUCCESS" | "REFUND" = "ALL",
): WechatResult<string> {
  const path = `/v3/bill/tradebill?bill_date=${billDate}&bill_type=${billType}&tar_type=GZIP`;
  const requested = await wechatRequest(config, deps, { method: "GET", url: `${config.apiBase}${path}` });
  if (!requested.ok) return requested;
  const answer = JSON.parse(new TextDecoder().decode(requested.value.bytes)) as {
    hash_value?: string;
    download_url?: string;
  };
  if (!answer.download_url || !answer.hash_value)
    return err(billError("MALFORMED_RESPONSE", "bill answer lacks download_url"));
  const file = await wechatRequest(config, deps, { method: "GET", url: answer.download_url, verify: false });
  if (!file.ok) return file;
  const bill = await gunzip(file.value.bytes).catch(() => null);
  if (bill === null) return err(billError("BILL_NOT_GZIP", "downloaded bill is not gzip"));
  if ((await sha1Hex(bill)) !== answer.hash_value.toLowerCase()) {
    return err(billError("BILL_HASH_MISMATCH", "downloaded bill does not match its SHA-1"));
  }
  return ok(new TextDecoder().decode(bill));
}

function billError(code: string, message: string): WechatApiError {
  return { kind: "permanent", status: 502, code, message };
}
