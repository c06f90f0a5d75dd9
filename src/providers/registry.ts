/**
 * The provider clients of one invocation, each built over its provider budget's fetch (src/budget/), so
 * none of them can send a request without taking a token from the deployment's bucket. Built once per
 * budget; a caller without a budget of its own gets a fresh one that asks one token at a time.
 */
import type Stripe from "stripe";
import { ONE_AT_A_TIME, openProviderBudget, type ProviderBudget } from "../budget/budget.ts";
import type { Deps } from "../deps.ts";
import type { ProviderApi } from "../ledger/ports.ts";
import type { Provider } from "../ledger/types.ts";
import { createStripeClient, createStripeProviderApi } from "./stripe/client.ts";
import { createWechatClient, type WechatClient } from "./wechatpay/client.ts";
import { createWechatProviderApi } from "./wechatpay/provider-api.ts";

type BudgetDeps = Pick<Deps, "config" | "providerBudgets">;

interface Clients {
  stripe?: Stripe;
  wechat?: WechatClient;
  apis: Partial<Record<Provider, ProviderApi>>;
}

const built = new WeakMap<ProviderBudget, Clients>();

function clientsOf(budget: ProviderBudget): Clients {
  const clients = built.get(budget) ?? { apis: {} };
  built.set(budget, clients);
  return clients;
}

/** The Stripe SDK client for jobs that list (events, webhook endpoints), or null without Stripe. */
export function stripeClientFor(
  deps: BudgetDeps,
  budget: ProviderBudget = openProviderBudget(deps, ONE_AT_A_TIME),
): Stripe | null {
  if (!deps.config.stripe) return null;
  const clients = clientsOf(budget);
  clients.stripe ??= createStripeClient(deps.config.stripe, budget.fetch("stripe"));
  return clients.stripe;
}

/** The signed WeChat Pay API client, or null without WeChat Pay. */
export function wechatClientFor(deps: BudgetDeps, budget: ProviderBudget): WechatClient | null {
  if (!deps.config.wechat) return null;
  const clients = clientsOf(budget);
  clients.wechat ??= createWechatClient(deps.config.wechat, {
    fetch: budget.fetch("wechatpay"),
    clock: Date.now,
  });
  return clients.wechat;
}

export function providerApiFor(
  deps: BudgetDeps,
  provider: Provider,
  budget: ProviderBudget = openProviderBudget(deps, ONE_AT_A_TIME),
): ProviderApi | null {
  const { apis } = clientsOf(budget);
  if (apis[provider]) return apis[provider];
  if (provider === "stripe") {
    const stripe = stripeClientFor(deps, budget);
    if (stripe) apis.stripe = createStripeProviderApi(stripe);
  }
  if (provider === "wechatpay" && deps.config.wechat) {
    const wechat = wechatClientFor(deps, budget);
    if (wechat) apis.wechatpay = createWechatProviderApi(deps.config.wechat, wechat);
  }
  return apis[provider] ?? null;
}
