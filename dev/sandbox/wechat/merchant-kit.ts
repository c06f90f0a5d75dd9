// The merchant's side of WeChat Pay API v3, written for the simulator's tests with plain node:crypto and
// none of the simulator's code: signs requests, checks WeChat's signatures (the "WeChat Pay public key" or
// a platform certificate, chosen by Wechatpay-Serial), decrypts notification resources, reads bills.
// If the simulator drifted from the documented protocol, these independent checks would fail.
import {
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  randomBytes,
  sign,
  verify,
  X509Certificate,
} from "node:crypto";
import type { SandboxRequest } from "../http.ts";
import type { WechatCredentials } from "./keys.ts";

const GCM_TAG_BYTES = 16;

export interface MerchantRequestInput {
  method: "GET" | "POST";
  /** path with query, as WeChat's docs write it */
  url: string;
  body?: unknown;
  nowMs: number;
  /** overrides, e.g. a forged Authorization or a missing User-Agent */
  headers?: Record<string, string | undefined>;
  signingKeyPem?: string;
}

export function authorizationHeader(
  credentials: WechatCredentials,
  message: { method: string; pathWithQuery: string; body: string; timestamp: string; nonce: string },
  signingKeyPem = credentials.merchantPrivateKeyPem,
): string {
  const signed = `${message.method}\n${message.pathWithQuery}\n${message.timestamp}\n${message.nonce}\n${message.body}\n`;
  const signature = sign("sha256", Buffer.from(signed, "utf8"), createPrivateKey(signingKeyPem)).toString(
    "base64",
  );
  return (
    `WECHATPAY2-SHA256-RSA2048 mchid="${credentials.mchid}",nonce_str="${message.nonce}",` +
    `timestamp="${message.timestamp}",serial_no="${credentials.merchantSerial}",signature="${signature}"`
  );
}

export function merchantRequest(credentials: WechatCredentials, input: MerchantRequestInput): SandboxRequest {
  const url = new URL(input.url, "http://sandbox.test");
  const body = input.body === undefined ? "" : JSON.stringify(input.body);
  const timestamp = String(Math.floor(input.nowMs / 1000));
  const nonce = randomBytes(16).toString("hex").toUpperCase();
  const pathWithQuery = `${url.pathname}${url.search}`;
  const authorization = authorizationHeader(
    credentials,
    { method: input.method, pathWithQuery, body, timestamp, nonce },
    input.signingKeyPem,
  );
  const headers: Record<string, string | undefined> = {
    host: "sandbox.test:8787",
    accept: "application/json",
    "user-agent": "payguard-tests/1.0",
    ...(input.method === "POST" ? { "content-type": "application/json" } : {}),
    "wechatpay-serial": credentials.publicKeyId,
    authorization,
    ...input.headers,
  };
  const present = Object.entries(headers).filter(
    (entry): entry is [string, string] => entry[1] !== undefined,
  );
  return {
    method: input.method,
    path: url.pathname,
    query: url.searchParams,
    headers: Object.fromEntries(present),
    body,
  };
}

/** The key a Wechatpay-Serial names: the WeChat Pay public key by id, else a platform certificate by serial. */
export function wechatKeyFor(credentials: WechatCredentials, serial: string): KeyObject | null {
  if (serial === credentials.publicKeyId) return createPublicKey(credentials.publicKeyPem);
  const pems =
    credentials.platformCertsPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  const cert = pems
    .map((pem) => new X509Certificate(pem))
    .find((c) => c.serialNumber.toUpperCase() === serial.toUpperCase());
  return cert?.publicKey ?? null;
}

/** RSA-SHA256 over `${timestamp}\n${nonce}\n${body}\n` with the key the serial names. */
export function verifyWechatSignature(
  credentials: WechatCredentials,
  headers: Record<string, string> | undefined,
  body: string,
): boolean {
  const key = wechatKeyFor(credentials, headers?.["wechatpay-serial"] ?? "");
  const signature = headers?.["wechatpay-signature"];
  if (!key || !signature) return false;
  const message = `${headers["wechatpay-timestamp"]}\n${headers["wechatpay-nonce"]}\n${body}\n`;
  return verify("sha256", Buffer.from(message, "utf8"), key, Buffer.from(signature, "base64"));
}

export interface EncryptedResource {
  ciphertext: string;
  nonce: string;
  associated_data: string;
}

export function decryptResource(apiV3Key: string, resource: EncryptedResource): Record<string, unknown> {
  const data = Buffer.from(resource.ciphertext, "base64");
  const decipher = createDecipheriv(
    "aes-256-gcm",
    Buffer.from(apiV3Key, "utf8"),
    Buffer.from(resource.nonce, "utf8"),
  );
  decipher.setAuthTag(data.subarray(data.length - GCM_TAG_BYTES));
  decipher.setAAD(Buffer.from(resource.associated_data, "utf8"));
  const plain = Buffer.concat([
    decipher.update(data.subarray(0, data.length - GCM_TAG_BYTES)),
    decipher.final(),
  ]);
  return JSON.parse(plain.toString("utf8")) as Record<string, unknown>;
}

export interface ParsedBill {
  header: string[];
  rows: Record<string, string>[];
  summaryHeader: string[];
  summary: Record<string, string>;
}

/** Reads a trade bill by header name: BOM, header, back-ticked rows, summary header, back-ticked summary. */
export function parseBill(text: string): ParsedBill {
  const lines = text.replace(/^\uFEFF/, "").split("\r\n");
  if (lines.at(-1) === "") lines.pop();
  const untick = (line: string) => line.split(",").map((value) => value.replace(/^`/, ""));
  const record = (names: string[], values: string[]) =>
    Object.fromEntries(names.map((name, i) => [name, values[i] ?? ""]));
  const header = (lines[0] ?? "").split(",");
  const summaryHeader = (lines.at(-2) ?? "").split(",");
  return {
    header,
    rows: lines.slice(1, -2).map((line) => record(header, untick(line))),
    summaryHeader,
    summary: record(summaryHeader, untick(lines.at(-1) ?? "")),
  };
}
