// `/_control/wechat/*`: WeChat Pay scenario steps, mapped onto the WeChat simulator. `orderId` is the
// merchant's out_trade_no. Answers carry the event ids and, when not sent, the signed notifications.
import { badRequest, type ControlBody, type ControlDeps, type ControlRoute, emitting } from "./control.ts";
import { json, type SandboxResponse } from "./http.ts";
import { WechatScenarioError } from "./wechat/index.ts";

const str = (value: unknown): string | undefined =>
  typeof value === "string" && value !== "" ? value : undefined;
const int = (value: unknown): number | undefined =>
  Number.isSafeInteger(value) ? (value as number) : undefined;
const outTradeNoOf = (body: ControlBody): string | undefined => str(body.outTradeNo) ?? str(body.orderId);

/** A step WeChat would not allow (refund of an unpaid order ...) is the caller's mistake: 409, not a crash. */
async function refusing(run: () => SandboxResponse | Promise<SandboxResponse>): Promise<SandboxResponse> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof WechatScenarioError) return json(409, { error: error.message });
    throw error;
  }
}

const MODES = ["public_key", "certificate", "mixed"] as const;
const REFUND_STATUSES = ["SUCCESS", "ABNORMAL", "CLOSED"] as const;

/**
 * `atClose: true`: the payment lands when payguard's close call for the order arrives, not now.
 * `paying: true`: the customer is confirming; the order answers USERPAYING until a later `pay`.
 */
function pay(deps: ControlDeps, body: ControlBody) {
  const outTradeNo = outTradeNoOf(body);
  if (!outTradeNo) return badRequest("orderId (out_trade_no) is required");
  const input = {
    outTradeNo,
    amountMinor: int(body.amountMinor),
    currency: str(body.currency),
    attach: str(body.attach),
    mchid: str(body.mchid),
    appid: str(body.appid),
  };
  if (body.atClose === true || body.paying === true) {
    if (body.atClose === true) deps.wechat.payAtClose(input);
    else deps.wechat.startPaying(input);
    return json(200, { eventIds: [], deliveries: [] });
  }
  return emitting(deps, body, () => {
    const { transactionId, eventId } = deps.wechat.pay(input);
    return { transactionId, eventIds: [eventId] };
  });
}

function refund(deps: ControlDeps, body: ControlBody) {
  const outTradeNo = outTradeNoOf(body);
  const amountMinor = int(body.amountMinor);
  if (!outTradeNo || amountMinor === undefined) return badRequest("orderId and amountMinor are required");
  const status = body.status as (typeof REFUND_STATUSES)[number] | undefined;
  if (status !== undefined && !REFUND_STATUSES.includes(status))
    return badRequest(`status must be one of ${REFUND_STATUSES.join(", ")}`);
  return emitting(deps, body, () => {
    const { refundId, eventId } = deps.wechat.refund({ outTradeNo, amountMinor, status });
    return { refundId, eventIds: [eventId] };
  });
}

export function wechatControlRoutes(deps: ControlDeps): ControlRoute[] {
  const routes: ControlRoute[] = [
    { method: "POST", path: "/_control/wechat/pay", run: (body) => pay(deps, body) },
    {
      method: "POST",
      path: "/_control/wechat/jsapi/pay",
      run: (body) =>
        emitting(deps, body, () => {
          const { transactionId, eventId } = deps.wechat.requestPayment(body);
          return { transactionId, eventIds: [eventId] };
        }),
    },
    {
      method: "POST",
      path: "/_control/wechat/abandon",
      run: (body) => {
        const outTradeNo = outTradeNoOf(body);
        if (!outTradeNo) return badRequest("orderId (out_trade_no) is required");
        deps.wechat.abandon(outTradeNo);
        return json(200, { eventIds: [], deliveries: [] });
      },
    },
    { method: "POST", path: "/_control/wechat/refund", run: (body) => refund(deps, body) },
    {
      method: "POST",
      path: "/_control/wechat/probe",
      run: (body) => emitting(deps, body, () => ({ eventIds: [deps.wechat.probe().eventId] })),
    },
    {
      method: "POST",
      path: "/_control/wechat/mode",
      run: (body) => {
        const mode = body.mode as (typeof MODES)[number];
        if (!MODES.includes(mode)) return badRequest(`mode must be one of ${MODES.join(", ")}`);
        deps.wechat.setMode(mode);
        return json(200, { mode });
      },
    },
    {
      method: "GET",
      path: "/_control/wechat/orders",
      run: () => json(200, { orders: deps.wechat.orders() }),
    },
    {
      method: "GET",
      path: "/_control/wechat/refunds",
      run: () => json(200, { refunds: deps.wechat.refunds() }),
    },
    {
      method: "POST",
      path: "/_control/wechat/bill/publish",
      run: (body) => {
        const billDate = str(body.billDate);
        if (!billDate || !/^\d{4}-\d{2}-\d{2}$/.test(billDate))
          return badRequest("billDate (YYYY-MM-DD) is required");
        deps.wechat.publishBill(billDate);
        return json(200, { billDate });
      },
    },
  ];
  return routes.map((route) => ({
    ...route,
    run: (body, request) => refusing(() => route.run(body, request)),
  }));
}
