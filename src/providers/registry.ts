/** Picks the `ProviderApi` adapter for an order's provider, built once per isolate. */
import type { Deps } from "../deps.ts";
import type { ProviderApi } from "../ledger/ports.ts";
import type { Provider } from "../ledger/types.ts";
import { createStripeClient, createStripeProviderApi } from "./stripe/client.ts";
import { createWechatClient } from "./wechatpay/client.ts";
import { createWechatProviderApi } from "./wechatpay/provider-api.ts";

const built = new WeakMap<Deps, Partial<Record<Provider, ProviderApi>>>();

export function providerApiFor(deps: Deps, provider: Provider): ProviderApi | null {
  const apis = built.get(deps) ?? {};
  built.set(deps, apis);
  if (apis[provider]) return apis[provider];
  if (provider === "stripe" && deps.config.stripe) {
    apis.stripe = createStripeProviderApi(createStripeClient(deps.config.stripe));
  }
  if (provider === "wechatpay" && deps.config.wechat) {
    const client = createWechatClient(deps.config.wechat, {
      fetch: (input, init) => fetch(input, init),
      clock: Date.now,
    });
    apis.wechatpay = createWechatProviderApi(deps.config.wechat, client);
  }
  return apis[provider] ?? null;
}
