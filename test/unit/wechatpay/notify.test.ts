/**
 * Notifications built by an independent implementation (Node's crypto, written here from the protocol
 * description) must verify and decrypt with payguard's WebCrypto code, in every key mode, and every
 * kind of bad input must be refused with its reason.
 */
import { createCipheriv, createPrivateKey, randomBytes, sign, X509Certificate } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import {
  generateWechatKeys,
  type WechatCredentials,
  type WechatPlatformKeys,
} from "../../../dev/sandbox/wechat/index.ts";
import { readPlatformCertificates } from "../../../src/providers/wechatpay/certificates.ts";
import { parseWechatNotification, transactionFact } from "../../../src/providers/wechatpay/notify.ts";
import { parseWechatConfig, type WechatConfig } from "../../../src/providers/wechatpay/settings.ts";

const NOW_MS = Date.UTC(2026, 10, 22, 4, 0, 0);
const NOW_S = String(NOW_MS / 1000);

let credentials: WechatCredentials;
let platformKeys: WechatPlatformKeys;
let config: WechatConfig;

function configFor(mode: "public_key" | "certificate" | "mixed"): WechatConfig {
  const result = parseWechatConfig({
    WECHATPAY_MCHID: credentials.mchid,
    WECHATPAY_APPID: credentials.appid,
    WECHATPAY_MERCHANT_SERIAL: credentials.merchantSerial,
    WECHATPAY_MERCHANT_PRIVATE_KEY: credentials.merchantPrivateKeyPem,
    WECHATPAY_APIV3_KEY: credentials.apiV3Key,
    WECHATPAY_PUBLIC_KEY_ID: mode === "certificate" ? "" : credentials.publicKeyId,
    WECHATPAY_PUBLIC_KEY: mode === "certificate" ? "" : credentials.publicKeyPem,
    WECHATPAY_PLATFORM_CERTS: mode === "public_key" ? "" : credentials.platformCertsPem,
  });
  if (!result.ok) throw new Error(result.problems.join("; "));
  return result.config;
}

function encrypt(plaintext: string, key: string, nonce: string, aad: string): string {
  const cipher = createCipheriv("aes-256-gcm", Buffer.from(key, "utf8"), Buffer.from(nonce, "utf8"));
  cipher.setAAD(Buffer.from(aad, "utf8"));
  const ct = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return Buffer.concat([ct, cipher.getAuthTag()]).toString("base64");
}

const transaction = (overrides: Record<string, unknown> = {}) => ({
  mchid: credentials.mchid,
  appid: credentials.appid,
  out_trade_no: "ord_0123456789abcdef01234567",
  transaction_id: "4200000000202611220000000001",
  trade_type: "NATIVE",
  trade_state: "SUCCESS",
  trade_state_desc: "支付成功",
  bank_type: "OTHERS",
  attach: JSON.stringify({ user_id: "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f", package_id: "credits_cny" }),
  success_time: "2026-11-22T12:00:00+08:00",
  payer: { openid: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o" },
  amount: { total: 990, payer_total: 990, currency: "CNY", payer_currency: "CNY" },
  ...overrides,
});

/** Flips one byte of the ciphertext (before signing, so only the AES-GCM tag can catch it). */
function tampered(ciphertext: string, options: { tamperCiphertext?: boolean }): string {
  if (!options.tamperCiphertext) return ciphertext;
  const bytes = Buffer.from(ciphertext, "base64");
  bytes[0] = (bytes[0] ?? 0) ^ 0xff;
  return bytes.toString("base64");
}

interface Built {
  headers: Headers;
  body: string;
}

function build(
  resource: unknown,
  options: {
    signer?: "public_key" | "certificate";
    eventType?: string;
    timestamp?: string;
    key?: string;
    tamperCiphertext?: boolean;
  } = {},
): Built {
  const nonce = randomBytes(6).toString("hex");
  const aad = "transaction";
  const body = JSON.stringify({
    id: `EV-${randomBytes(4).toString("hex")}`,
    create_time: "2026-11-22T12:00:01+08:00",
    resource_type: "encrypt-resource",
    event_type: options.eventType ?? "TRANSACTION.SUCCESS",
    summary: "支付成功",
    resource: {
      original_type: "transaction",
      algorithm: "AEAD_AES_256_GCM",
      ciphertext: tampered(
        encrypt(JSON.stringify(resource), options.key ?? credentials.apiV3Key, nonce, aad),
        options,
      ),
      associated_data: aad,
      nonce,
    },
  });
  const signer = options.signer ?? "public_key";
  const privateKey =
    signer === "public_key"
      ? platformKeys.publicKeyModePrivateKeyPem
      : platformKeys.platformCertPrivateKeyPem;
  const serial = signer === "public_key" ? credentials.publicKeyId : platformKeys.platformCertSerial;
  const timestamp = options.timestamp ?? NOW_S;
  const headerNonce = randomBytes(16).toString("hex");
  const signature = sign(
    "sha256",
    Buffer.from(`${timestamp}\n${headerNonce}\n${body}\n`),
    createPrivateKey(privateKey),
  ).toString("base64");
  const headers = new Headers({
    "wechatpay-timestamp": timestamp,
    "wechatpay-nonce": headerNonce,
    "wechatpay-serial": serial,
    "wechatpay-signature": signature,
    "wechatpay-signature-type": "WECHATPAY2-SHA256-RSA2048",
  });
  return { headers, body };
}

const parse = (built: Built, cfg = config) =>
  parseWechatNotification({ headers: built.headers, rawBody: built.body, nowMs: NOW_MS }, cfg);

beforeAll(async () => {
  ({ credentials, platformKeys } = await generateWechatKeys());
  config = configFor("mixed");
});

describe("platform certificate reading", () => {
  it("reads the same serial, public key and validity Node's X509Certificate reads", () => {
    const [ours, ...more] = readPlatformCertificates(credentials.platformCertsPem);
    if (!ours) throw new Error("no certificate");
    const node = new X509Certificate(credentials.platformCertsPem);
    expect(more).toEqual([]);
    expect(ours.serial).toBe(node.serialNumber.replace(/^0+/, "").toUpperCase());
    expect(Buffer.from(ours.spki).equals(node.publicKey.export({ type: "spki", format: "der" }))).toBe(true);
    expect(ours.notBeforeMs).toBe(Date.parse(node.validFrom));
    expect(ours.notAfterMs).toBe(Date.parse(node.validTo));
  });

  it("reads every certificate of a bundle, and names one that is not a certificate", () => {
    const pem = credentials.platformCertsPem.trim();
    expect(readPlatformCertificates(`${pem}\r\n${pem}`)).toHaveLength(2);
    const broken = `${pem}\n-----BEGIN CERTIFICATE-----\nMIIBAAAA\n-----END CERTIFICATE-----\n`;
    expect(() => readPlatformCertificates(broken)).toThrow(
      /^WECHATPAY_PLATFORM_CERTS: certificate 2 is not an X\.509 certificate/,
    );
  });
});

describe("parseWechatNotification", () => {
  it.each([
    ["public-key mode", "public_key", "public_key"],
    ["certificate mode", "certificate", "certificate"],
    ["mixed mode, public key", "mixed", "public_key"],
    ["mixed mode, certificate", "mixed", "certificate"],
  ] as const)("verifies and decrypts in %s", async (_name, mode, signer) => {
    const result = await parse(build(transaction(), { signer }), configFor(mode));
    expect(result).toMatchObject({
      ok: true,
      notice: {
        kind: "fact",
        eventType: "TRANSACTION.SUCCESS",
        fact: {
          kind: "paid",
          provider: "wechatpay",
          orderId: "ord_0123456789abcdef01234567",
          paymentRef: "4200000000202611220000000001",
          amountMinor: 990,
          currency: "CNY",
          paidAtMs: Date.UTC(2026, 10, 22, 4, 0, 0),
          metadata: { userId: "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f", packageId: "credits_cny" },
        },
      },
    });
  });

  it("refuses a certificate-signed notification when only the public key is configured", async () => {
    expect(await parse(build(transaction(), { signer: "certificate" }), configFor("public_key"))).toEqual({
      ok: false,
      reason: "unknown_serial",
    });
  });

  it.each([
    ["a stale timestamp", { timestamp: String(NOW_MS / 1000 - 301) }, "stale_timestamp"],
    ["a future timestamp", { timestamp: String(NOW_MS / 1000 + 301) }, "stale_timestamp"],
    ["a resource encrypted with another key", { key: "0".repeat(32) }, "decrypt_failed"],
    ["a tampered ciphertext inside a validly signed body", { tamperCiphertext: true }, "decrypt_failed"],
  ] as const)("refuses %s", async (_name, options, reason) => {
    expect(await parse(build(transaction(), options))).toEqual({ ok: false, reason });
  });

  it("refuses a tampered body, a signature from the wrong key and a SIGNTEST probe", async () => {
    const good = build(transaction());
    expect(await parse({ ...good, body: good.body.replace("EV-", "EX-") })).toEqual({
      ok: false,
      reason: "bad_signature",
    });
    const wrongKey = build(transaction());
    const other = createPrivateKey(credentials.merchantPrivateKeyPem);
    const ts = wrongKey.headers.get("wechatpay-timestamp");
    const nonce = wrongKey.headers.get("wechatpay-nonce");
    wrongKey.headers.set(
      "wechatpay-signature",
      sign("sha256", Buffer.from(`${ts}\n${nonce}\n${wrongKey.body}\n`), other).toString("base64"),
    );
    expect(await parse(wrongKey)).toEqual({ ok: false, reason: "bad_signature" });
    const probe = build(transaction());
    probe.headers.set("wechatpay-signature", "WECHATPAY/SIGNTEST/abc");
    expect(await parse(probe)).toEqual({ ok: false, reason: "signtest_probe" });
  });

  it("refuses missing headers and other signature types before looking at the body", async () => {
    const missing = build(transaction());
    missing.headers.delete("wechatpay-nonce");
    expect(await parse(missing)).toEqual({ ok: false, reason: "missing_headers" });
    const sm2 = build(transaction());
    sm2.headers.set("wechatpay-signature-type", "WECHATPAY2-SM2-WITH-SM3");
    expect(await parse(sm2)).toEqual({ ok: false, reason: "unsupported_signature_type" });
  });

  it("refuses malformed JSON even when correctly signed", async () => {
    const built = build(transaction());
    const body = "{not json";
    const ts = built.headers.get("wechatpay-timestamp");
    const nonce = built.headers.get("wechatpay-nonce");
    const key = createPrivateKey(platformKeys.publicKeyModePrivateKeyPem);
    built.headers.set(
      "wechatpay-signature",
      sign("sha256", Buffer.from(`${ts}\n${nonce}\n${body}\n`), key).toString("base64"),
    );
    expect(await parse({ headers: built.headers, body })).toEqual({ ok: false, reason: "malformed_json" });
  });

  it("turns another merchant's or app's transaction into a mismatch fact, never a payment", async () => {
    for (const overrides of [{ mchid: "1900000999" }, { appid: "wx_other" }]) {
      const result = await parse(build(transaction(overrides)));
      expect(result).toMatchObject({ ok: true, notice: { kind: "fact", fact: { kind: "mismatch" } } });
    }
  });

  it("maps refund notifications to a clawback fact or an incident", async () => {
    const refund = (status: string) => ({
      mchid: credentials.mchid,
      transaction_id: "4200000000202611220000000001",
      out_trade_no: "ord_0123456789abcdef01234567",
      refund_id: "50000000382019052709732678859",
      out_refund_no: "rf_1",
      refund_status: status,
      success_time: "2026-11-22T13:00:00+08:00",
      user_received_account: "招商银行信用卡0403",
      amount: { total: 990, refund: 495, payer_total: 990, payer_refund: 495 },
    });
    expect(await parse(build(refund("SUCCESS"), { eventType: "REFUND.SUCCESS" }))).toMatchObject({
      ok: true,
      notice: {
        kind: "fact",
        fact: { kind: "refunded", refundRef: "50000000382019052709732678859", amountMinor: 495 },
      },
    });
    expect(await parse(build(refund("ABNORMAL"), { eventType: "REFUND.ABNORMAL" }))).toMatchObject({
      ok: true,
      notice: { kind: "incident", incident: { kind: "refund_abnormal", severity: "critical" } },
    });
  });

  it("checks mchid on refund notifications like on transactions: another merchant's refund is a mismatch", async () => {
    const refund = {
      mchid: "1900000999",
      transaction_id: "4200000000202611220000000001",
      out_trade_no: "ord_0123456789abcdef01234567",
      refund_id: "50000000382019052709732678860",
      refund_status: "SUCCESS",
      success_time: "2026-11-22T13:00:00+08:00",
      amount: { total: 990, refund: 990, payer_total: 990, payer_refund: 990 },
    };
    expect(await parse(build(refund, { eventType: "REFUND.SUCCESS" }))).toMatchObject({
      ok: true,
      notice: {
        kind: "fact",
        fact: { kind: "mismatch", reason: "refund notification for another merchant" },
      },
    });
  });

  it("names the refunded payment (transaction_id) on a refund fact", async () => {
    const refund = {
      mchid: credentials.mchid,
      transaction_id: "4200000000202611220000000001",
      out_trade_no: "ord_0123456789abcdef01234567",
      refund_id: "50000000382019052709732678861",
      refund_status: "SUCCESS",
      success_time: "2026-11-22T13:00:00+08:00",
      amount: { total: 990, refund: 990, payer_total: 990, payer_refund: 990 },
    };
    expect(await parse(build(refund, { eventType: "REFUND.SUCCESS" }))).toMatchObject({
      notice: { fact: { kind: "refunded", paymentRef: "4200000000202611220000000001" } },
    });
  });

  it("maps trade_state REFUND on query to a settled payment that says the provider refunded it", () => {
    const fact = transactionFact(transaction({ trade_state: "REFUND" }), config);
    expect(fact).toMatchObject({ kind: "paid", refundedAtProvider: true });
    expect(transactionFact(transaction(), config)).not.toHaveProperty("refundedAtProvider");
  });
});
