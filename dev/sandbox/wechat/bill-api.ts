// `GET /v3/bill/tradebill` and the download it points to. The bill of day D exists from 10:00 Beijing
// time on D+1 (WeChat generates it from 09:00 and asks merchants to fetch after 10:00; before that it
// answers STATEMENT_CREATING); a day without any payment or refund has no bill (NO_STATEMENT_EXIST).
// A day published early (state.billsPublished) is served at once, with the rows it holds so far.
// hash_value is the SHA-1 of the bill itself, before gzip, as WeChat's SDK checks it (it hashes the
// gunzipped stream). The download needs a signed request but its answer is not signed.
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { type Clock, json, type SandboxRequest, type SandboxResponse } from "../http.ts";
import { type Random, randomId } from "../rng.ts";
import { BILL_TYPES, type BillType, buildTradeBill } from "./bill.ts";
import { beijingDate, beijingMidnightMs, DAY_MS } from "./format.ts";
import { paramError, wechatError } from "./reply.ts";
import type { WechatState } from "./state.ts";

export const BILL_READY_AFTER_DAY_END_MS = 10 * 60 * 60 * 1000;
/** WeChat: the download address is valid for 5 minutes. */
export const BILL_DOWNLOAD_URL_TTL_MS = 5 * 60 * 1000;
const DOWNLOAD_TOKEN_CHARS = 48;
const DEFAULT_HOST = "api.mch.weixin.qq.com";

export interface BillApiContext {
  state: WechatState;
  mchid: string;
  clock: Clock;
  random: Random;
}

interface StoredBill {
  bytes: Buffer;
  gzip: boolean;
  expiresAtMs: number;
}

/** Where the sandbox itself is reachable, from the request that asked. */
function origin(request: SandboxRequest): string {
  const proto = request.headers["x-forwarded-proto"] === "https" ? "https" : "http";
  return `${proto}://${request.headers.host ?? DEFAULT_HOST}`;
}

function readBillQuery(request: SandboxRequest): { date: string; type: BillType; gzip: boolean } | string {
  const date = request.query.get("bill_date") ?? "";
  const type = (request.query.get("bill_type") ?? "ALL") as BillType;
  const tarType = request.query.get("tar_type");
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(beijingMidnightMs(date)))
    return "bill_date must be YYYY-MM-DD";
  if (!BILL_TYPES.includes(type)) return "bill_type must be ALL, SUCCESS or REFUND";
  if (tarType !== null && tarType !== "GZIP") return "tar_type must be GZIP";
  return { date, type, gzip: tarType === "GZIP" };
}

export function createBillApi(context: BillApiContext) {
  const files = new Map<string, StoredBill>();

  function tradeBill(request: SandboxRequest): SandboxResponse {
    const query = readBillQuery(request);
    if (typeof query === "string") return paramError(query);
    const nowMs = context.clock();
    const published = context.state.billsPublished.has(query.date);
    if (!published && query.date >= beijingDate(nowMs))
      return wechatError(400, "NO_STATEMENT_EXIST", "请求的账单文件不存在");
    if (!published && nowMs < beijingMidnightMs(query.date) + DAY_MS + BILL_READY_AFTER_DAY_END_MS) {
      return wechatError(400, "STATEMENT_CREATING", "账单生成中");
    }
    const { orders, refunds } = context.state;
    const text = buildTradeBill({ ...query, mchid: context.mchid, orders: orders.values(), refunds });
    if (text === null) return wechatError(400, "NO_STATEMENT_EXIST", "请求的账单文件不存在");
    const raw = Buffer.from(text, "utf8");
    for (const [token, file] of files) if (file.expiresAtMs <= nowMs) files.delete(token);
    const token = randomId(context.random, "", DOWNLOAD_TOKEN_CHARS);
    files.set(token, {
      bytes: query.gzip ? gzipSync(raw) : raw,
      gzip: query.gzip,
      expiresAtMs: nowMs + BILL_DOWNLOAD_URL_TTL_MS,
    });
    return json(200, {
      hash_type: "SHA1",
      hash_value: createHash("sha1").update(raw).digest("hex"),
      download_url: `${origin(request)}/v3/billdownload/file?token=${token}${query.gzip ? "&tartype=gzip" : ""}`,
    });
  }

  function download(request: SandboxRequest): SandboxResponse {
    const file = files.get(request.query.get("token") ?? "");
    if (!file || file.expiresAtMs <= context.clock())
      return wechatError(400, "INVALID_REQUEST", "下载地址无效或已过期");
    const type = file.gzip ? "application/x-gzip" : "text/plain; charset=utf-8";
    return { status: 200, headers: { "content-type": type }, body: file.bytes };
  }

  return { tradeBill, download };
}
