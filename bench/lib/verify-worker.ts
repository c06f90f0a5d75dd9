/**
 * A worker that does nothing but Stripe signature checks, for bench/lib/crypto-cost.ts: each request runs
 * one variant `n` times over the same delivery, so workerd's CPU for the request divided by `n` is the
 * cost of one check in workerd itself (the worker's own clock does not move while it computes). Variants:
 * payguard's `verifyStripeEvent` as shipped, stripe-node's `constructEventAsync` with its SubtleCrypto
 * provider (the HMAC key imported on every call) and with a provider holding the imported key, the key
 * import alone, and an empty loop (what the loop and the request cost by themselves).
 */
import Stripe from "stripe";
import { verifyStripeEvent } from "../../src/providers/stripe/verify.ts";

export interface VerifyRequest {
  variant: VerifyVariant;
  n: number;
  body: string;
  header: string;
  secrets: string[];
  nowMs: number;
}

export const VERIFY_VARIANTS = [
  "payguard verifyStripeEvent",
  "stripe-node constructEventAsync, key imported per call",
  "stripe-node constructEventAsync, key cached",
  "HMAC key import alone",
  "empty loop",
] as const;
export type VerifyVariant = (typeof VERIFY_VARIANTS)[number];

const encoder = new TextEncoder();
const importHmac = (secret: string) =>
  crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);

/** stripe-node's extension point (a CryptoProvider) holding each secret's imported key. */
class CachedKeyProvider extends Stripe.CryptoProvider {
  private readonly keys = new Map<string, Promise<CryptoKey>>();
  override async computeHMACSignatureAsync(payload: string, secret: string): Promise<string> {
    let key = this.keys.get(secret);
    if (!key) {
      key = importHmac(secret);
      this.keys.set(secret, key);
    }
    const mac = new Uint8Array(await crypto.subtle.sign("HMAC", await key, encoder.encode(payload)));
    return Array.from(mac, (byte) => byte.toString(16).padStart(2, "0")).join("");
  }
}

const subtle = Stripe.createSubtleCryptoProvider();
const cached = new CachedKeyProvider();

/** Every secret in turn, as a rotation would; a failed signature is not an error of the bench. */
async function library(request: VerifyRequest, provider: Stripe.CryptoProvider): Promise<void> {
  for (const secret of request.secrets) {
    try {
      await Stripe.webhooks.constructEventAsync(
        request.body,
        request.header,
        secret,
        300,
        provider,
        request.nowMs,
      );
      return;
    } catch {}
  }
}

const RUN: Record<VerifyVariant, (request: VerifyRequest) => Promise<unknown>> = {
  "payguard verifyStripeEvent": (r) => verifyStripeEvent(r.body, r.header, r.secrets, r.nowMs),
  "stripe-node constructEventAsync, key imported per call": (r) => library(r, subtle),
  "stripe-node constructEventAsync, key cached": (r) => library(r, cached),
  "HMAC key import alone": (r) => importHmac(r.secrets[0] ?? ""),
  "empty loop": async () => undefined,
};

export default {
  async fetch(request: Request): Promise<Response> {
    const job = (await request.json()) as VerifyRequest;
    const run = RUN[job.variant];
    for (let i = 0; i < job.n; i++) await run(job);
    return new Response("ok");
  },
};
