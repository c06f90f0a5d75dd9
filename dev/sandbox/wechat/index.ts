// The WeChat Pay API v3 simulator of the provider sandbox: the API subset payguard calls (./api.ts) and
// the scenario steps tests drive (./scenario.ts: a customer pays, never pays, the merchant refunds,
// WeChat probes the notify URL), each handing WeChat's signed, encrypted notification to `deliver`.
// The key mode (WeChat Pay public key, platform certificate, or both at random while migrating) decides
// how responses and notifications are signed; it can change at any time, as a real migration does.
// Refund notifications (scenario refunds and those of payguard's refund requests) go through the same
// delivery faults as payment ones: `POST /_control/faults` with a rule matching
// `{ provider: "wechatpay", eventType: "REFUND.SUCCESS" }` drops or duplicates the next `count` of them or
// a seeded `rate` share of them (../delivery-faults.ts); the refund stays queryable and on the trade bill.
// A refund never fails after SUCCESS at WeChat (SUCCESS is final; CLOSED and ABNORMAL are outcomes instead
// of it), so the simulator offers no such step.
import type { Clock, QueuedDelivery, SandboxRequest, SandboxResponse } from "../http.ts";
import { mulberry32, type Random } from "../rng.ts";
import { createWechatApi } from "./api.ts";
import { checkRequestPayment, type RequestPaymentInput } from "./jsapi.ts";
import type { WechatCredentials, WechatPlatformKeys } from "./keys.ts";
import { type NotificationSpec, notificationBody, signedDelivery } from "./notify.ts";
import {
  abandonOrder,
  payAtClose,
  payOrder,
  refundOrder,
  type ScenarioContext,
  sendProbe,
  startPaying,
  type WechatPayInput,
  type WechatRefundInput,
} from "./scenario.ts";
import { createSigner, type WechatMode } from "./signer.ts";
import { closeExpiredOrders, createWechatState } from "./state.ts";

export { generateWechatKeys, type WechatCredentials, type WechatPlatformKeys } from "./keys.ts";
export { PROBE_SIGNATURE_PREFIX } from "./notify.ts";
export { type WechatPayInput, type WechatRefundInput, WechatScenarioError } from "./scenario.ts";
export { WECHAT_MODES, type WechatMode } from "./signer.ts";

export interface WechatSandboxOptions {
  mode: WechatMode;
  credentials: WechatCredentials;
  platformKeys: WechatPlatformKeys;
  notifyUrl?: string;
  clock: Clock;
  /** seeded: same seed and clock, same notifications */
  random: Random;
  deliver(delivery: QueuedDelivery): void;
}

export interface WechatOrderSummary {
  outTradeNo: string;
  tradeState: string;
  amountMinor: number;
  transactionId?: string;
}

export interface WechatRefundSummary {
  refundId: string;
  outRefundNo: string;
  outTradeNo: string;
  amountMinor: number;
  status: string;
}

export interface WechatSandbox {
  /** requests under /v3/; null = not mine */
  handle(request: SandboxRequest): Promise<SandboxResponse | null>;
  pay(input: WechatPayInput): { transactionId: string; eventId: string };
  /** The customer pays just as the merchant's close call arrives; that close is then refused ORDERPAID. */
  payAtClose(input: WechatPayInput): void;
  /** The customer is confirming the payment: queries answer USERPAYING until `pay`. */
  startPaying(input: WechatPayInput): void;
  /** The customer confirms a JSAPI payment sheet: the requestPayment parameters are checked as WeChat's client does, then paid. */
  requestPayment(params: RequestPaymentInput): { transactionId: string; eventId: string };
  /** The customer never pays: the order stays NOTPAY until closed or past time_expire (WeChat sends nothing). */
  abandon(outTradeNo: string): void;
  refund(input: WechatRefundInput): { refundId: string; eventId: string };
  /** A notification whose Wechatpay-Signature starts `WECHATPAY/SIGNTEST/`: it must be refused. */
  probe(): { eventId: string };
  setMode(mode: WechatMode): void;
  orders(): ReadonlyArray<WechatOrderSummary>;
  /** Every refund, as it stands. */
  refunds(): ReadonlyArray<WechatRefundSummary>;
  /** Serves day `billDate`'s trade bill from now on, before 10:00 Beijing the next day (today's too). */
  publishBill(billDate: string): void;
}

const API_STREAM_SEED_RANGE = 2 ** 32;

export function createWechatSandbox(options: WechatSandboxOptions): WechatSandbox {
  const { credentials, clock, random } = options;
  const state = createWechatState();
  const signer = createSigner(credentials, options.platformKeys);
  let mode = options.mode;
  // API traffic draws from its own stream seeded once from ours: how often payguard polls must not
  // shift the ids of later notifications.
  const apiRandom = mulberry32(Math.floor(random() * API_STREAM_SEED_RANGE));
  const emit = (spec: NotificationSpec, nowMs: number, probe = false): string => {
    const notification = notificationBody(spec, credentials.apiV3Key, random, nowMs);
    const context = { signer, mode, random, url: options.notifyUrl ?? "" };
    options.deliver(signedDelivery(context, notification, nowMs, probe));
    return notification.id;
  };
  const scenario: ScenarioContext = { state, credentials, clock, random, emit };
  return {
    handle: createWechatApi({ ...options, state, signer, mode: () => mode, random: apiRandom, scenario }),
    pay: (input) => payOrder(scenario, input),
    payAtClose: (input) => payAtClose(scenario, input),
    startPaying: (input) => startPaying(scenario, input),
    requestPayment: (params) =>
      payOrder(scenario, {
        outTradeNo: checkRequestPayment(
          state,
          { appid: credentials.appid, merchantPublicKeyPem: options.platformKeys.merchantPublicKeyPem },
          params,
          clock(),
        ),
      }),
    abandon: (outTradeNo) => abandonOrder(scenario, outTradeNo),
    refund: (input) => refundOrder(scenario, input),
    probe: () => sendProbe(scenario),
    setMode(next) {
      mode = next;
    },
    orders() {
      closeExpiredOrders(state, clock());
      return [...state.orders.values()].map((order) => ({
        outTradeNo: order.outTradeNo,
        tradeState: order.tradeState,
        amountMinor: order.payment?.amountMinor ?? order.amountMinor,
        ...(order.payment ? { transactionId: order.payment.transactionId } : {}),
      }));
    },
    refunds: () =>
      state.refunds.map(({ refundId, outRefundNo, outTradeNo, amountMinor, status }) => ({
        refundId,
        outRefundNo,
        outTradeNo,
        amountMinor,
        status,
      })),
    publishBill(billDate) {
      state.billsPublished.add(billDate);
    },
  };
}
