import { beforeAll, describe, expect, it } from "vitest";
import { certificateFindings } from "../../../dev/deploy-check-findings.ts";
import { incidentTitle } from "../../../src/incidents/catalogue.ts";
import {
  certificateExpiryFindings,
  WECHATPAY_CERT_EXPIRY_WARNING_DAYS,
} from "../../../src/providers/wechatpay/cert-expiry.ts";
import type { PlatformCertificate } from "../../../src/providers/wechatpay/certificates.ts";
import { parseWechatConfig } from "../../../src/providers/wechatpay/settings.ts";
import { platformCertificatePem } from "../../fixtures/wechatpay/platform-certificate.ts";

const DAY_MS = 86_400_000;
const NOW_MS = Date.UTC(2026, 11, 7, 9, 0, 0);

const certificate = (serial: string, notAfterMs: number): PlatformCertificate => ({
  serial,
  spki: new Uint8Array(),
  notBeforeMs: notAfterMs - 5 * 365 * DAY_MS,
  notAfterMs,
});
const findings = (certificates: PlatformCertificate[], publicKeyId: string | null = null) =>
  certificateExpiryFindings({ platformCertificates: certificates, publicKeyId }, NOW_MS);

describe("WeChat Pay platform certificate expiry", () => {
  it("says nothing while the certificate has more than 30 days, or when none is configured", () => {
    expect(findings([certificate("5157F09E", NOW_MS + 31 * DAY_MS)])).toEqual([]);
    expect(findings([])).toEqual([]);
    expect(certificateExpiryFindings(null, NOW_MS)).toEqual([]);
  });

  it("warns from 30 days before the end, keyed by the serial", () => {
    expect(findings([certificate("5157F09E", NOW_MS + WECHATPAY_CERT_EXPIRY_WARNING_DAYS * DAY_MS)])).toEqual(
      [
        {
          key: "wechatpay_cert_expiry:5157F09E",
          kind: "wechatpay_cert_expiry",
          severity: "warning",
          summary: "WeChat Pay platform certificate 5157F09E expires on 2027-01-06 (in 30 days)",
          detail: {
            serial: "5157F09E",
            state: "expiring",
            expires_on: "2027-01-06",
            not_after: "2027-01-06T09:00:00.000Z",
            days_left: 30,
            public_key_configured: false,
          },
        },
      ],
    );
    expect(findings([certificate("5157F09E", NOW_MS + 10.5 * DAY_MS)])[0]?.detail.days_left).toBe(10);
  });

  it("turns critical from the moment it expires", () => {
    const [atEnd] = findings([certificate("5157F09E", NOW_MS)], "PUB_KEY_ID_0114");
    expect(atEnd).toMatchObject({
      severity: "critical",
      summary: "WeChat Pay platform certificate 5157F09E expired on 2026-12-07",
      detail: { state: "expired", public_key_configured: true },
    });
    expect(findings([certificate("5157F09E", NOW_MS - 40 * DAY_MS)])[0]?.severity).toBe("critical");
  });

  it("watches the certificate configured last: the next one beside the old resolves it", () => {
    const old = certificate("0A11", NOW_MS + 5 * DAY_MS);
    expect(findings([old, certificate("0B22", NOW_MS + 5 * 365 * DAY_MS)])).toEqual([]);
    const [next] = findings([
      certificate("0B22", NOW_MS + 20 * DAY_MS),
      certificate("0A11", NOW_MS - DAY_MS),
    ]);
    expect(next).toMatchObject({ key: "wechatpay_cert_expiry:0B22", severity: "warning" });
  });

  it("has a title in English and Chinese for both states", () => {
    for (const finding of [
      ...findings([certificate("5157F09E", NOW_MS + 3 * DAY_MS)]),
      ...findings([certificate("5157F09E", NOW_MS - DAY_MS)]),
    ]) {
      const en = incidentTitle(finding.kind, finding.detail, finding.summary, "en");
      const zh = incidentTitle(finding.kind, finding.detail, finding.summary, "zh");
      expect(en).toMatch(
        /^WeChat Pay platform certificate 5157F09E (expires on 2026-12-10 \(in 3 days\)|expired on 2026-12-06)/,
      );
      expect(zh).toMatch(
        /^微信支付平台证书 5157F09E (将于 2026-12-10 过期（剩余 3 天）|已于 2026-12-06 过期)/,
      );
    }
  });
});

describe("the configured certificates, read with their validity", () => {
  let expiringPem: string;
  beforeAll(async () => {
    expiringPem = await platformCertificatePem({
      serialHex: "7c1e0a5b3d2f4e6a8b9c0d1e2f3a4b5c6d7e8f90",
      notBefore: new Date(NOW_MS - 5 * 365 * DAY_MS),
      notAfter: new Date(NOW_MS + 12 * DAY_MS),
    });
  });

  it("raises for a certificate in WECHATPAY_PLATFORM_CERTS that ends in 12 days", () => {
    const parsed = parseWechatConfig({
      WECHATPAY_MCHID: "1900000001",
      WECHATPAY_APPID: "wx0000000000000001",
      WECHATPAY_MERCHANT_SERIAL: "3775B6A45ACD588826D15E583A95F5DD",
      WECHATPAY_MERCHANT_PRIVATE_KEY: "-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----",
      WECHATPAY_APIV3_KEY: "0123456789abcdef0123456789abcdef",
      WECHATPAY_PLATFORM_CERTS: expiringPem,
    });
    if (!parsed.ok) throw new Error(parsed.problems.join("; "));
    expect(parsed.config.platformCertificates).toMatchObject([
      { serial: "7C1E0A5B3D2F4E6A8B9C0D1E2F3A4B5C6D7E8F90", notAfterMs: NOW_MS + 12 * DAY_MS },
    ]);
    expect(certificateExpiryFindings(parsed.config, NOW_MS)).toMatchObject([
      { key: "wechatpay_cert_expiry:7C1E0A5B3D2F4E6A8B9C0D1E2F3A4B5C6D7E8F90", severity: "warning" },
    ]);
  });

  it("is a deploy:check warning when the certificate is in this shell, an error once expired", () => {
    expect(certificateFindings({ WECHATPAY_PLATFORM_CERTS: expiringPem }, NOW_MS)).toEqual([
      {
        level: "warning",
        message:
          "WeChat Pay platform certificate 7C1E0A5B3D2F4E6A8B9C0D1E2F3A4B5C6D7E8F90 expires on 2026-12-19 (in 12 days) [wechatpay_cert_expiry:7C1E0A5B3D2F4E6A8B9C0D1E2F3A4B5C6D7E8F90]",
        fix: expect.stringContaining("WECHATPAY_PLATFORM_CERTS"),
      },
    ]);
    const later = certificateFindings({ WECHATPAY_PLATFORM_CERTS: expiringPem }, NOW_MS + 13 * DAY_MS);
    expect(later.map((finding) => finding.level)).toEqual(["error"]);
    expect(certificateFindings({}, NOW_MS)).toEqual([]);
  });
});
