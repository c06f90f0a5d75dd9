/**
 * WeChat Pay API v3 client: signs every request with the merchant key, verifies every 2xx response's
 * signature (a response we cannot verify is not trusted), and turns failures into typed errors:
 * 404 ORDER_NOT_EXIST, 429 and 5xx and network failures transient (retry the same request later),
 * anything else permanent.
 */

import { randomHex } from "../../hex.ts";
import { err, type InfraError, ok, type Result } from "../../ledger/result.ts";
import { bytesToBase64 } from "./encoding.ts";
import { importSigningKey } from "./keys.ts";
import type { WechatConfig } from "./settings.ts";
import { verifyWechatSignature } from "./signature.ts";

export const WECHATPAY_REQUEST_TIMEOUT_MS = 8_000;
const USER_AGENT = "payguard/0.1";

export type WechatApiError = InfraError & { status: number; retryAfterS?: number };
export type WechatResult<T> = Promise<Result<T, WechatApiError>>;
type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

export interface WechatClientDeps {
  fetch: Fetch;
  clock: () => number;
  /** Defaults to WECHATPAY_REQUEST_TIMEOUT_MS. */
  timeoutMs?: number;
}

function randomNonce(): string {
  return randomHex(16);
}

export async function authorizationHeader(
  config: Pick<WechatConfig, "mchid" | "merchantSerial" | "merchantPrivateKeyPem">,
  method: string,
  pathWithQuery: string,
  body: string,
  nowMs: number,
): Promise<string> {
  const timestamp = String(Math.floor(nowMs / 1000));
  const nonce = randomNonce();
  const message = `${method}\n${pathWithQuery}\n${timestamp}\n${nonce}\n${body}\n`;
  const key = await importSigningKey(config.merchantPrivateKeyPem);
  const signature = new Uint8Array(
    await crypto.subtle.sign("RSASSA-PKCS1-v1_5", key, new TextEncoder().encode(message)),
  );
  return `WECHATPAY2-SHA256-RSA2048 mchid="${config.mchid}",nonce_str="${nonce}",signature="${bytesToBase64(signature)}",timestamp="${timestamp}",serial_no="${config.merchantSerial}"`;
}

function failure(status: number, code: string, message: string, retryAfterS?: number): WechatApiError {
  const transient = status === 0 || status === 429 || status >= 500;
  return { kind: transient ? "transient" : "permanent", status, code, message, retryAfterS };
}

async function errorFrom(response: Response): Promise<WechatApiError> {
  const text = await response.text();
  let code = `HTTP_${response.status}`;
  let message = text.slice(0, 200);
  try {
    const parsed = JSON.parse(text) as { code?: string; message?: string };
    code = parsed.code ?? code;
    message = parsed.message ?? message;
  } catch {
    // Not JSON (a proxy error page, say): keep the status-based code.
  }
  const retryAfter = Number(response.headers.get("retry-after"));
  return failure(
    response.status,
    code,
    message,
    Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
  );
}

export interface WechatResponse {
  status: number;
  bytes: Uint8Array<ArrayBuffer>;
}

/** One signed request; `verify` false only for bill downloads, which WeChat does not sign. */
export async function wechatRequest(
  config: WechatConfig,
  deps: WechatClientDeps,
  input: { method: "GET" | "POST"; url: string; body?: unknown; verify?: boolean },
): WechatResult<WechatResponse> {
  const url = new URL(input.url);
  const body = input.body === undefined ? "" : JSON.stringify(input.body);
  const headers: Record<string, string> = {
    accept: "application/json",
    "user-agent": USER_AGENT,
    "wechatpay-serial": config.preferredSerial,
    authorization: await authorizationHeader(
      config,
      input.method,
      `${url.pathname}${url.search}`,
      body,
      deps.clock(),
    ),
  };
  if (body) headers["content-type"] = "application/json";
  let response: Response;
  try {
    response = await deps.fetch(url.toString(), {
      method: input.method,
      headers,
      body: body || undefined,
      signal: AbortSignal.timeout(deps.timeoutMs ?? WECHATPAY_REQUEST_TIMEOUT_MS),
    });
  } catch (error) {
    return err(failure(0, "NETWORK", (error as Error).message));
  }
  if (response.status < 200 || response.status >= 300) return err(await errorFrom(response));
  const bytes = new Uint8Array(await response.arrayBuffer());
  if (input.verify === false) return ok({ status: response.status, bytes });
  const text = new TextDecoder().decode(bytes);
  const verified = await verifyWechatSignature(response.headers, text, config.verifyKeys, deps.clock());
  if (!verified.ok) {
    return err(failure(502, "RESPONSE_SIGNATURE", `response signature rejected: ${verified.reason}`));
  }
  return ok({ status: response.status, bytes });
}

function parseBody(response: WechatResponse): unknown {
  const text = new TextDecoder().decode(response.bytes);
  return text ? JSON.parse(text) : null;
}

export function createWechatClient(config: WechatConfig, deps: WechatClientDeps) {
  const base = config.apiBase;
  const call = async (method: "GET" | "POST", path: string, body?: unknown): WechatResult<unknown> => {
    const result = await wechatRequest(config, deps, { method, url: `${base}${path}`, body });
    if (!result.ok) return result;
    try {
      return ok(parseBody(result.value));
    } catch {
      return err(failure(502, "MALFORMED_RESPONSE", "response is not JSON"));
    }
  };
  const outTradeNoPath = (outTradeNo: string) =>
    `/v3/pay/transactions/out-trade-no/${encodeURIComponent(outTradeNo)}`;
  return {
    queryOrder: (outTradeNo: string) =>
      call("GET", `${outTradeNoPath(outTradeNo)}?mchid=${encodeURIComponent(config.mchid)}`),
    /** The same transaction, found by WeChat's own id (`GET /v3/pay/transactions/id/{transaction_id}`). */
    queryByTransactionId: (transactionId: string) =>
      call(
        "GET",
        `/v3/pay/transactions/id/${encodeURIComponent(transactionId)}?mchid=${encodeURIComponent(config.mchid)}`,
      ),
    closeOrder: async (outTradeNo: string): WechatResult<void> => {
      const result = await call("POST", `${outTradeNoPath(outTradeNo)}/close`, { mchid: config.mchid });
      return result.ok ? ok(undefined) : result;
    },
    createNativeOrder: (input: {
      outTradeNo: string;
      description: string;
      amountMinor: number;
      notifyUrl: string;
      attach?: string;
    }) =>
      call("POST", "/v3/pay/transactions/native", {
        appid: config.appid,
        mchid: config.mchid,
        description: input.description,
        out_trade_no: input.outTradeNo,
        notify_url: input.notifyUrl,
        attach: input.attach,
        amount: { total: input.amountMinor, currency: "CNY" },
      }),
    /** GET /v3/refund/domestic/refunds/{out_refund_no}: the refund as it stands (404 RESOURCE_NOT_EXISTS). */
    queryRefund: (outRefundNo: string) =>
      call("GET", `/v3/refund/domestic/refunds/${encodeURIComponent(outRefundNo)}`),
    requestTradeBill: (billDate: string, billType: "ALL" | "SUCCESS" | "REFUND" = "ALL") =>
      call("GET", `/v3/bill/tradebill?bill_date=${billDate}&bill_type=${billType}&tar_type=GZIP`),
  };
}

export type WechatClient = ReturnType<typeof createWechatClient>;
