// The HTTP face of the WeChat Pay simulator: routes /v3/ requests, enforces WeChat's request rules
// (Accept and User-Agent headers, a valid merchant signature, JSON bodies) and signs 2xx answers the
// way the current key mode says. The bill download is the one 2xx answer WeChat leaves unsigned.
import type { Clock, SandboxRequest, SandboxResponse } from "../http.ts";
import type { Random } from "../rng.ts";
import { createRequestVerifier } from "./auth.ts";
import { createBillApi } from "./bill-api.ts";
import { headerNonce, unixSeconds } from "./format.ts";
import { createJsapiOrder } from "./jsapi.ts";
import type { WechatCredentials, WechatPlatformKeys } from "./keys.ts";
import { closeOrder, createNativeOrder, type OrdersApiContext, queryOrder } from "./orders-api.ts";
import { createRefund, queryRefund } from "./refund-api.ts";
import { wechatError } from "./reply.ts";
import { payBeforeClose, type ScenarioContext } from "./scenario.ts";
import type { Signer, WechatMode } from "./signer.ts";
import { closeExpiredOrders, type WechatState } from "./state.ts";

export interface WechatApiOptions {
  state: WechatState;
  credentials: WechatCredentials;
  platformKeys: WechatPlatformKeys;
  signer: Signer;
  mode(): WechatMode;
  clock: Clock;
  /** API-side stream: response nonces, mixed-mode key picks, code URLs, bill tokens */
  random: Random;
  /** Refunds change WeChat's records and notify, as the scenario steps do. */
  scenario: ScenarioContext;
}

interface Route {
  method: "GET" | "POST";
  pattern: RegExp;
  signed: boolean;
  run(request: SandboxRequest, param: string): SandboxResponse;
}

function routes(
  orders: OrdersApiContext,
  bills: ReturnType<typeof createBillApi>,
  scenario: ScenarioContext,
): Route[] {
  const byTransactionId = (id: string) =>
    [...orders.state.orders.values()].find((order) => order.payment?.transactionId === id);
  return [
    {
      method: "POST",
      pattern: /^\/v3\/pay\/transactions\/native$/,
      signed: true,
      run: (r) => createNativeOrder(orders, r),
    },
    {
      method: "POST",
      pattern: /^\/v3\/pay\/transactions\/jsapi$/,
      signed: true,
      run: (r) => createJsapiOrder(orders, r),
    },
    {
      method: "GET",
      pattern: /^\/v3\/pay\/transactions\/out-trade-no\/([^/]+)$/,
      signed: true,
      run: (r, outTradeNo) => queryOrder(orders, r, orders.state.orders.get(outTradeNo)),
    },
    {
      method: "GET",
      pattern: /^\/v3\/pay\/transactions\/id\/([^/]+)$/,
      signed: true,
      run: (r, transactionId) => queryOrder(orders, r, byTransactionId(transactionId)),
    },
    {
      method: "POST",
      pattern: /^\/v3\/pay\/transactions\/out-trade-no\/([^/]+)\/close$/,
      signed: true,
      run: (r, outTradeNo) => {
        payBeforeClose(scenario, outTradeNo);
        return closeOrder(orders, r, outTradeNo);
      },
    },
    {
      method: "POST",
      pattern: /^\/v3\/refund\/domestic\/refunds$/,
      signed: true,
      run: (r) => createRefund(scenario, r),
    },
    {
      method: "GET",
      pattern: /^\/v3\/refund\/domestic\/refunds\/([^/]+)$/,
      signed: true,
      run: (_r, outRefundNo) => queryRefund(scenario, outRefundNo),
    },
    { method: "GET", pattern: /^\/v3\/bill\/tradebill$/, signed: true, run: (r) => bills.tradeBill(r) },
    { method: "GET", pattern: /^\/v3\/billdownload\/file$/, signed: false, run: (r) => bills.download(r) },
  ];
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function findRoute(table: Route[], request: SandboxRequest): { route: Route; param: string } | null {
  for (const route of table) {
    const match = route.method === request.method ? route.pattern.exec(request.path) : null;
    if (match) return { route, param: safeDecode(match[1] ?? "") };
  }
  return null;
}

export function createWechatApi(options: WechatApiOptions) {
  const { credentials, state, clock, random } = options;
  const verifyRequest = createRequestVerifier({
    mchid: credentials.mchid,
    serial: credentials.merchantSerial,
    publicKeyPem: options.platformKeys.merchantPublicKeyPem,
  });
  const table = routes(
    { state, mchid: credentials.mchid, appid: credentials.appid, clock, random },
    createBillApi({ state, mchid: credentials.mchid, clock, random }),
    options.scenario,
  );

  function signed(response: SandboxResponse, nowMs: number): SandboxResponse {
    const body = typeof response.body === "string" ? response.body : "";
    const key = options.signer.keyFor(options.mode(), random);
    const headers = options.signer.headers(key, unixSeconds(nowMs), headerNonce(random), body);
    return { ...response, headers: { ...response.headers, ...headers } };
  }

  function answer(route: Route, param: string, request: SandboxRequest, nowMs: number): SandboxResponse {
    if (!request.headers.accept || !request.headers["user-agent"]) {
      return wechatError(400, "INVALID_REQUEST", "Http头缺少Accept或User-Agent");
    }
    const failure = verifyRequest(request, nowMs);
    if (failure) return wechatError(401, "SIGN_ERROR", `签名错误: ${failure}`);
    if (request.method === "POST" && !request.headers["content-type"]?.includes("application/json")) {
      return wechatError(400, "INVALID_REQUEST", "Content-Type须为application/json");
    }
    const response = route.run(request, param);
    const success = response.status >= 200 && response.status < 300;
    return route.signed && success ? signed(response, nowMs) : response;
  }

  /** Answers requests under /v3/; null for anything else. */
  return async (request: SandboxRequest): Promise<SandboxResponse | null> => {
    if (!request.path.startsWith("/v3/")) return null;
    const nowMs = clock();
    closeExpiredOrders(state, nowMs);
    const found = findRoute(table, request);
    if (!found)
      return wechatError(404, "NOT_FOUND", `no WeChat Pay endpoint ${request.method} ${request.path}`);
    return answer(found.route, found.param, request, nowMs);
  };
}
