/**
 * WeChat Pay as a `ProviderApi`: query an order's truth by out_trade_no (an unpaid answer keeps its
 * trade_state, so the reconcile can tell USERPAYING from NOTPAY), and close unpaid orders.
 */
import type { ProviderApi } from "../../ledger/ports.ts";
import { err, ok } from "../../ledger/result.ts";
import type { Order } from "../../ledger/types.ts";
import type { WechatClient } from "./client.ts";
import { transactionFact } from "./notify.ts";
import type { WechatConfig } from "./settings.ts";

export function createWechatProviderApi(config: WechatConfig, client: WechatClient): ProviderApi {
  return {
    provider: "wechatpay",
    async queryOrder(order: Order) {
      const result = await client.queryOrder(order.id);
      if (!result.ok) {
        // Not created at WeChat yet (the customer never opened the QR code): still pending for us.
        if (result.error.code === "ORDER_NOT_EXIST")
          return ok({ kind: "pending", provider: "wechatpay", orderId: order.id });
        return err(result.error);
      }
      const fact = transactionFact(result.value, config);
      if (!fact)
        return err({
          kind: "permanent",
          code: "MALFORMED_TRANSACTION",
          message: "query answer has no usable state",
        });
      // USERPAYING (the payer is confirming right now) is worth asking about again soon: say so.
      const state = (result.value as { trade_state?: unknown }).trade_state;
      if (fact.kind === "pending" && typeof state === "string") return ok({ ...fact, providerState: state });
      return ok(fact);
    },
    async closeOrder(order: Order) {
      const result = await client.closeOrder(order.id);
      if (!result.ok && result.error.code !== "ORDER_NOT_EXIST") return err(result.error);
      return ok(undefined);
    },
  };
}
