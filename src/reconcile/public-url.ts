/**
 * Is a URL one that Stripe and WeChat Pay can call? It must be https on a public host: not localhost,
 * not a private, loopback, link-local or unspecified address, not a `.local` / `.internal` / `.localhost`
 * name. Pure: no DNS lookup (a public name resolving to a private address is caught by reachability).
 */
const PRIVATE_SUFFIXES = [".local", ".internal", ".localhost", ".lan", ".home.arpa"];

function privateIpv4(host: string): boolean {
  const parts = host.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return false;
  const [a = 0, b = 0] = parts;
  return (
    a === 0 ||
    a === 10 ||
    a === 127 ||
    (a === 100 && b >= 64 && b <= 127) ||
    (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168)
  );
}

function privateIpv6(host: string): boolean {
  if (!host.startsWith("[")) return false;
  const ip = host.slice(1, -1).toLowerCase();
  return ip === "::1" || ip === "::" || /^f[cd]/.test(ip) || /^fe[89ab]/.test(ip) || ip.startsWith("::ffff:");
}

/** Why `url` cannot receive provider callbacks, or null when it can. */
export function callbackUrlProblem(url: string): string | null {
  if (!URL.canParse(url)) return "not a valid URL";
  const parsed = new URL(url);
  if (parsed.protocol !== "https:") return "not https";
  const host = parsed.hostname.toLowerCase();
  if (host === "localhost" || PRIVATE_SUFFIXES.some((suffix) => host.endsWith(suffix)))
    return `host ${host} is not public`;
  if (privateIpv4(host) || privateIpv6(host)) return `address ${host} is not public`;
  if (!host.includes(".")) return `host ${host} is not a public name`;
  return null;
}
