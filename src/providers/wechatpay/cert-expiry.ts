/**
 * When payguard stops being able to verify WeChat Pay: a platform certificate is valid for 5 years, and
 * once the last one configured has expired WeChat signs with a certificate payguard does not have, so every
 * notification and API answer is refused. An incident warns 30 days ahead and turns critical at expiry;
 * adding the next certificate (or a later one) resolves it. An older certificate kept beside a newer one,
 * as WeChat's overlap asks, is not a finding. Pure: the configured certificates and `nowMs` in, findings
 * out; the hourly health check keeps the open incidents equal to them (src/reconcile/health.ts).
 * The WeChat Pay public key (WECHATPAY_PUBLIC_KEY) is not watched: it carries no validity, and WeChat
 * says it has none ("公钥没有有效期"), so there is no date to warn before.
 */
import type { IncidentInput } from "../../ledger/ports.ts";
import type { WechatConfig } from "./settings.ts";

export const WECHATPAY_CERT_EXPIRY_PREFIX = "wechatpay_cert_expiry:";
/** How long before the last configured certificate expires the warning opens. */
export const WECHATPAY_CERT_EXPIRY_WARNING_DAYS = 30;
const DAY_MS = 86_400_000;

/** At most one finding: the configured certificate that expires last, when it expires soon or has. */
export function certificateExpiryFindings(
  config: Pick<WechatConfig, "platformCertificates" | "publicKeyId"> | null,
  nowMs: number,
): IncidentInput[] {
  const [first, ...rest] = config?.platformCertificates ?? [];
  if (!first) return [];
  const last = rest.reduce((a, b) => (b.notAfterMs > a.notAfterMs ? b : a), first);
  const leftMs = last.notAfterMs - nowMs;
  if (leftMs > WECHATPAY_CERT_EXPIRY_WARNING_DAYS * DAY_MS) return [];
  const expired = leftMs <= 0;
  const expiresOn = new Date(last.notAfterMs).toISOString().slice(0, 10);
  const daysLeft = Math.floor(leftMs / DAY_MS);
  return [
    {
      key: `${WECHATPAY_CERT_EXPIRY_PREFIX}${last.serial}`,
      kind: "wechatpay_cert_expiry",
      severity: expired ? "critical" : "warning",
      summary: expired
        ? `WeChat Pay platform certificate ${last.serial} expired on ${expiresOn}`
        : `WeChat Pay platform certificate ${last.serial} expires on ${expiresOn} (in ${daysLeft} days)`,
      detail: {
        serial: last.serial,
        state: expired ? "expired" : "expiring",
        expires_on: expiresOn,
        not_after: new Date(last.notAfterMs).toISOString(),
        days_left: daysLeft,
        public_key_configured: config?.publicKeyId != null,
      },
    },
  ];
}
