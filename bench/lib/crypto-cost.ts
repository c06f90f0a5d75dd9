/**
 * The cryptography of one webhook, alone, in Node's WebCrypto (the same calls the worker makes in
 * workerd): Stripe's check as the worker runs it (header parse, HMAC verify with the key imported once,
 * JSON parse) and the HMAC alone; WeChat's RSA-SHA256 verification with the cached key and with a fresh
 * import; AES-256-GCM decryption of the resource. Microseconds per event, mean of ITERATIONS.
 */
import { verifyStripeEvent } from "../../src/providers/stripe/verify.ts";
import { decryptResource } from "../../src/providers/wechatpay/cipher.ts";
import { base64ToBytes } from "../../src/providers/wechatpay/der.ts";
import { buildVerifyKeySet } from "../../src/providers/wechatpay/keys.ts";
import { verifyWechatSignature } from "../../src/providers/wechatpay/signature.ts";
import type { BenchStack } from "./stack.ts";

const ITERATIONS = 300;
const RSA_SHA256 = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" } as const;

async function microsEach(run: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 20; i++) await run();
  const started = performance.now();
  for (let i = 0; i < ITERATIONS; i++) await run();
  return ((performance.now() - started) * 1000) / ITERATIONS;
}

interface Delivery {
  headers: Record<string, string>;
  body: string;
}

export async function measureCrypto(stack: BenchStack): Promise<Record<string, number>> {
  const { standIn, sandbox } = stack;
  const rows = await standIn.query<{ id: string }>(
    `select (payguard.create_order(gen_random_uuid(), p.id, p.provider, now()))->>'id' as id
       from (values ('bench_usd', 'stripe'), ('bench_cny', 'wechatpay')) as p(id, provider)`,
  );
  const stripe = (
    await stack.control<{ deliveries: Delivery[] }>("stripe/pay", { orderId: rows[0]?.id, deliver: false })
  ).deliveries[0] as Delivery;
  const wechat = (
    await stack.control<{ deliveries: Delivery[] }>("wechat/pay", {
      orderId: rows[1]?.id,
      amountMinor: 9900,
      deliver: false,
    })
  ).deliveries[0] as Delivery;
  const nowMs = Date.now();
  const encoder = new TextEncoder();

  const stripeSignature = stripe.headers["stripe-signature"] ?? stripe.headers["Stripe-Signature"] ?? "";
  const [, timestamp, v1] = /t=(\d+),v1=([0-9a-f]+)/.exec(stripeSignature) ?? [];
  const hmacKey = await crypto.subtle.importKey(
    "raw",
    encoder.encode(sandbox.stripe.webhookSecret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );

  const headers = new Headers(wechat.headers);
  const keys = buildVerifyKeySet({
    publicKeyId: sandbox.wechat.publicKeyId,
    publicKeyPem: sandbox.wechat.publicKeyPem,
  });
  const spki = keys.get(sandbox.wechat.publicKeyId) as Uint8Array<ArrayBuffer>;
  const message = `${headers.get("wechatpay-timestamp")}\n${headers.get("wechatpay-nonce")}\n${wechat.body}\n`;
  const signature = base64ToBytes(headers.get("wechatpay-signature") ?? "");
  const resource = (JSON.parse(wechat.body) as { resource: Record<string, string> }).resource;
  const encrypted = {
    ciphertext: resource.ciphertext ?? "",
    nonce: resource.nonce ?? "",
    associatedData: resource.associated_data ?? "",
  };
  if (!(await verifyStripeEvent(stripe.body, stripeSignature, [sandbox.stripe.webhookSecret], nowMs)).ok)
    throw new Error("crypto bench: the Stripe delivery does not verify");
  if (!(await verifyWechatSignature(headers, wechat.body, keys, nowMs)).ok)
    throw new Error("crypto bench: the WeChat delivery does not verify");
  if ((await decryptResource(encrypted, sandbox.wechat.apiV3Key)) === null)
    throw new Error("crypto bench: the WeChat resource does not decrypt");

  return {
    "stripe verify as the worker does (key cached)": await microsEach(() =>
      verifyStripeEvent(stripe.body, stripeSignature, [sandbox.stripe.webhookSecret], nowMs),
    ),
    "stripe HMAC-SHA256 alone, key imported once": await microsEach(async () => {
      const mac = await crypto.subtle.sign("HMAC", hmacKey, encoder.encode(`${timestamp}.${stripe.body}`));
      return Buffer.from(mac).toString("hex") === v1;
    }),
    "wechat RSA verify as the worker does (cached key)": await microsEach(() =>
      verifyWechatSignature(headers, wechat.body, keys, nowMs),
    ),
    "wechat RSA verify with a fresh key import": await microsEach(async () => {
      const key = await crypto.subtle.importKey("spki", spki, RSA_SHA256, false, ["verify"]);
      return crypto.subtle.verify(RSA_SHA256, key, signature, encoder.encode(message));
    }),
    "wechat AES-256-GCM decrypt (cached key)": await microsEach(() =>
      decryptResource(encrypted, sandbox.wechat.apiV3Key),
    ),
  };
}
