/** Picks the `ProviderApi` adapter for an order's provider, built once per isolate. */
import type Stripe from "stripe";
import type { Deps } from "../deps.ts";
import type { ProviderApi } from "../ledger/ports.ts";
import type { Provider } from "../ledger/types.ts";
import { createStripeClient, createStripeProviderApi } from "./stripe/client.ts";
import { createWechatClient } from "./wechatpay/client.ts";
import { createWechatProviderApi } from "./wechatpay/provider-api.ts";

const built = new WeakMap<Deps, Partial<Record<Provider, ProviderApi>>>();
const stripeClients = new WeakMap<Deps, Stripe>();

/** The Stripe SDK client for jobs that list (events, webhook endpoints), or null without Stripe. */
export function stripeClientFor(deps: Deps): Stripe | null {
  if (!deps.config.stripe) return null;
  const client = stripeClients.get(deps) ?? createStripeClient(deps.config.stripe);
  stripeClients.set(deps, client);
  return client;
}

export function providerApiFor(deps: Deps, provider: Provider): ProviderApi | null {
  const apis = built.get(deps) ?? {};
  built.set(deps, apis);
  if (apis[provider]) return apis[provider];
  if (provider === "stripe" && deps.config.stripe) {
    apis.stripe = createStripeProviderApi(stripeClientFor(deps) ?? createStripeClient(deps.config.stripe));
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
