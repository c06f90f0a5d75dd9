/**
 * The parameters a page passes to WeChat's JSAPI `requestPayment` (wx.requestPayment / WeixinJSBridge),
 * signed as WeChat Pay API v3 documents and wechatpay-go's PrepayWithRequestPayment does: `paySign` =
 * base64(RSA-SHA256 with the merchant private key over `${appId}\n${timeStamp}\n${nonceStr}\n${package}\n`),
 * `timeStamp` in seconds as a string, `package` = `prepay_id=…`, `signType` = `RSA`.
 */

import { randomHex } from "../../hex.ts";
import { bytesToBase64 } from "./encoding.ts";
import { importSigningKey } from "./keys.ts";

const NONCE_BYTES = 16;

export interface RequestPaymentParams {
  appId: string;
  timeStamp: string;
  nonceStr: string;
  package: string;
  signType: "RSA";
  paySign: string;
}

export const requestPaymentMessage = (
  p: Pick<RequestPaymentParams, "appId" | "timeStamp" | "nonceStr" | "package">,
) => `${p.appId}\n${p.timeStamp}\n${p.nonceStr}\n${p.package}\n`;

function randomNonce(): string {
  return randomHex(NONCE_BYTES);
}

export async function signRequestPayment(
  input: { appId: string; prepayId: string; merchantPrivateKeyPem: string },
  nowMs: number,
): Promise<RequestPaymentParams> {
  const unsigned = {
    appId: input.appId,
    timeStamp: String(Math.floor(nowMs / 1000)),
    nonceStr: randomNonce(),
    package: `prepay_id=${input.prepayId}`,
  };
  const key = await importSigningKey(input.merchantPrivateKeyPem);
  const signature = await crypto.subtle.sign(
    "RSASSA-PKCS1-v1_5",
    key,
    new TextEncoder().encode(requestPaymentMessage(unsigned)),
  );
  return { ...unsigned, signType: "RSA", paySign: bytesToBase64(new Uint8Array(signature)) };
}
