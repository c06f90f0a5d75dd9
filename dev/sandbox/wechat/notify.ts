// WeChat Pay notifications (POST to notify_url): the JSON envelope around an AES-256-GCM encrypted
// resource, signed like API responses, plus the signature probes WeChat sends now and then to check
// that merchants really verify (their Wechatpay-Signature starts `WECHATPAY/SIGNTEST/`).
import { createCipheriv, createHash } from "node:crypto";
import type { QueuedDelivery } from "../http.ts";
import type { Random } from "../rng.ts";
import { beijingRfc3339, eventId, headerNonce, resourceNonce, unixSeconds } from "./format.ts";
import { SIGNATURE_TYPE, type Signer, type WechatMode } from "./signer.ts";

export const PROBE_SIGNATURE_PREFIX = "WECHATPAY/SIGNTEST/";
const PROBE_SIGNATURE_BYTES = 256;
const RESOURCE_ALGORITHM = "AEAD_AES_256_GCM";

export interface NotificationSpec {
  eventType: string;
  summary: string;
  originalType: "transaction" | "refund";
  resource: unknown;
}

/** base64(ciphertext ‖ 16-byte tag); key = UTF-8 bytes of the APIv3 key, iv = UTF-8 bytes of the nonce. */
export function encryptResource(
  apiV3Key: string,
  plaintext: string,
  nonce: string,
  associatedData: string,
): string {
  const cipher = createCipheriv("aes-256-gcm", Buffer.from(apiV3Key, "utf8"), Buffer.from(nonce, "utf8"));
  cipher.setAAD(Buffer.from(associatedData, "utf8"));
  return Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final(), cipher.getAuthTag()]).toString(
    "base64",
  );
}

export function notificationBody(
  spec: NotificationSpec,
  apiV3Key: string,
  random: Random,
  nowMs: number,
): { id: string; body: string } {
  const id = eventId(random);
  const nonce = resourceNonce(random);
  const associatedData = spec.originalType;
  const envelope = {
    id,
    create_time: beijingRfc3339(nowMs),
    resource_type: "encrypt-resource",
    event_type: spec.eventType,
    summary: spec.summary,
    resource: {
      original_type: spec.originalType,
      algorithm: RESOURCE_ALGORITHM,
      ciphertext: encryptResource(apiV3Key, JSON.stringify(spec.resource), nonce, associatedData),
      associated_data: associatedData,
      nonce,
    },
  };
  return { id, body: JSON.stringify(envelope) };
}

/**
 * Retries are signed afresh at send time (WeChat retries for 24 h; receivers reject timestamps older
 * than 5 min). Send time depends on faults and wall time, so the retry nonce is derived from the event
 * and the time rather than drawn from the seeded stream, which would shift every later id.
 */
const retryNonce = (id: string, atMs: number): string =>
  createHash("sha256").update(`${id}\n${atMs}`).digest("hex").slice(0, 32).toUpperCase();

function probeSignature(random: Random): string {
  const bytes = Buffer.from(Array.from({ length: PROBE_SIGNATURE_BYTES }, () => Math.floor(random() * 256)));
  return `${PROBE_SIGNATURE_PREFIX}${bytes.toString("base64")}`;
}

export interface DeliveryContext {
  signer: Signer;
  mode: WechatMode;
  random: Random;
  url: string;
}

/** The signed POST of one notification; a probe carries a signature that can never verify. */
export function signedDelivery(
  context: DeliveryContext,
  notification: { id: string; body: string },
  nowMs: number,
  probe = false,
): QueuedDelivery {
  const key = context.signer.keyFor(context.mode, context.random);
  const fakeSignature = probe ? probeSignature(context.random) : undefined;
  const headersAt = (atMs: number, nonce: string): Record<string, string> => ({
    "content-type": "application/json",
    ...context.signer.headers(key, unixSeconds(atMs), nonce, notification.body),
    ...(fakeSignature ? { "wechatpay-signature": fakeSignature } : {}),
    "wechatpay-signature-type": SIGNATURE_TYPE,
  });
  return {
    provider: "wechatpay",
    eventId: notification.id,
    url: context.url,
    headers: headersAt(nowMs, headerNonce(context.random)),
    body: notification.body,
    resign: (atMs) => headersAt(atMs, retryNonce(notification.id, atMs)),
  };
}
