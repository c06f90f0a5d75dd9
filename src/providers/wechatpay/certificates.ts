/**
 * WeChat Pay platform certificates (X.509 PEM in WECHATPAY_PLATFORM_CERTS) and PEM keys, read with
 * @peculiar/x509 (ASN.1 in plain JavaScript; it runs on Workers): each certificate's serial, which WeChat
 * sends as `Wechatpay-Serial`, its SubjectPublicKeyInfo, which WebCrypto imports (it cannot import a
 * certificate), and its validity, which the hourly health check watches (cert-expiry.ts). The library's
 * dependency injection (tsyringe) needs the Reflect metadata API at load time, so the polyfill comes first.
 */
import "reflect-metadata";
import { PemConverter, X509Certificate } from "@peculiar/x509";

export interface PlatformCertificate {
  /** Upper-case hex without a sign byte, as WeChat prints serials and sends them. */
  serial: string;
  spki: Uint8Array<ArrayBuffer>;
  notBeforeMs: number;
  notAfterMs: number;
}

/** Every `-----BEGIN <label>-----` block of a PEM text, decoded; other labels are skipped. */
export function pemBlocks(pem: string, label: string): Uint8Array<ArrayBuffer>[] {
  return PemConverter.decodeWithHeaders(pem)
    .filter((block) => block.type === label)
    .map((block) => new Uint8Array(block.rawData));
}

/** Throws, naming the certificate by its position, when one of them is not an X.509 certificate. */
export function readPlatformCertificates(pem: string): PlatformCertificate[] {
  return pemBlocks(pem, "CERTIFICATE").map((der, index) => {
    let certificate: X509Certificate;
    try {
      certificate = new X509Certificate(der);
    } catch (error) {
      throw new Error(
        `WECHATPAY_PLATFORM_CERTS: certificate ${index + 1} is not an X.509 certificate (${(error as Error).message})`,
      );
    }
    return {
      serial: certificate.serialNumber.toUpperCase(),
      spki: new Uint8Array(certificate.publicKey.rawData),
      notBeforeMs: certificate.notBefore.getTime(),
      notAfterMs: certificate.notAfter.getTime(),
    };
  });
}
