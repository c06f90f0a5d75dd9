// How WeChat Pay signs what it sends (API responses and notifications): RSASSA-PKCS1-v1_5 + SHA-256 over
// `${timestamp}\n${nonce}\n${body}\n`, announced by `Wechatpay-Serial`. The key depends on the merchant's
// migration stage: the "WeChat Pay public key" (serial `PUB_KEY_ID_…`), the platform certificate's key
// (serial = certificate serial), or, while migrating, either one at random per message.
import { createPrivateKey, type KeyObject, sign } from "node:crypto";
import type { Random } from "../rng.ts";
import type { WechatCredentials, WechatPlatformKeys } from "./keys.ts";

export type WechatMode = "public_key" | "certificate" | "mixed";
export const WECHAT_MODES: readonly WechatMode[] = ["public_key", "certificate", "mixed"];
export const SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048";

export interface SigningKey {
  serial: string;
  privateKey: KeyObject;
}

export interface SignatureHeaders extends Record<string, string> {
  "wechatpay-timestamp": string;
  "wechatpay-nonce": string;
  "wechatpay-serial": string;
  "wechatpay-signature": string;
}

/** The signed message; an empty body (204) still ends with its own `\n`. */
export const signedMessage = (timestamp: string, nonce: string, body: string): string =>
  `${timestamp}\n${nonce}\n${body}\n`;

export function createSigner(credentials: WechatCredentials, platformKeys: WechatPlatformKeys) {
  const publicKeyMode: SigningKey = {
    serial: credentials.publicKeyId,
    privateKey: createPrivateKey(platformKeys.publicKeyModePrivateKeyPem),
  };
  const certificate: SigningKey = {
    serial: platformKeys.platformCertSerial,
    privateKey: createPrivateKey(platformKeys.platformCertPrivateKeyPem),
  };
  return {
    /** Draws from `random` only in mixed mode, so the other modes keep the id sequence of the seed. */
    keyFor(mode: WechatMode, random: Random): SigningKey {
      if (mode === "public_key") return publicKeyMode;
      if (mode === "certificate") return certificate;
      return random() < 0.5 ? publicKeyMode : certificate;
    },
    headers(key: SigningKey, timestamp: string, nonce: string, body: string): SignatureHeaders {
      const signature = sign(
        "sha256",
        Buffer.from(signedMessage(timestamp, nonce, body), "utf8"),
        key.privateKey,
      );
      return {
        "wechatpay-timestamp": timestamp,
        "wechatpay-nonce": nonce,
        "wechatpay-serial": key.serial,
        "wechatpay-signature": signature.toString("base64"),
      };
    },
  };
}

export type Signer = ReturnType<typeof createSigner>;
