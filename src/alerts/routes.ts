/**
 * Routing rules: which channels hear about an incident, by its kind and severity (`ALERT_ROUTES`).
 *
 * The named default, `everywhere`, sends every severity of every kind to every configured channel; it is
 * what an empty `ALERT_ROUTES` means and what any (kind, severity) no rule names falls back to. Rules are
 * `<kind>:<severity>=<channels>` separated by `;` or new lines; `*` stands for any kind or any severity;
 * channels are a comma-separated list of slack, dingtalk, wecom, email, or `all` / `none`. The most specific
 * rule wins: an exact kind beats `*`, then an exact severity beats `*`. Example (warnings and infos only by
 * email, except unknown orders, which go everywhere whatever their severity):
 *
 *   ALERT_ROUTES = "everywhere; *:warning=email; *:info=email; unknown_order:*=all"
 *
 * Pure: parsing collects problems by name, matching is a lookup.
 */
import type { Severity } from "./notice.ts";
import type { ChannelName } from "./settings.ts";

const ROUTE_CHANNELS: readonly ChannelName[] = ["slack", "dingtalk", "wecom", "email"];
const ROUTE_SEVERITIES: readonly Severity[] = ["critical", "warning", "info"];
const KIND_PATTERN = /^[A-Za-z0-9_.:-]{1,80}$/;
/** The rule list stays short enough to read; more than this is refused. */
const ROUTE_RULES_MAX = 100;
export const EVERYWHERE_NAME = "everywhere";

export interface RouteRule {
  kind: string;
  severity: Severity | "*";
  /** null = every configured channel. */
  channels: readonly ChannelName[] | null;
}

export interface AlertRoutes {
  rules: readonly RouteRule[];
}

/** The named default: every severity of every kind to every configured channel. */
export const EVERYWHERE: AlertRoutes = { rules: [] };

function parseChannels(raw: string, rule: string, problems: string[]): RouteRule["channels"] | undefined {
  const value = raw.trim();
  if (value === "all") return null;
  if (value === "none") return [];
  const names = value
    .split(",")
    .map((name) => name.trim())
    .filter(Boolean);
  const unknown = names.filter((name) => !ROUTE_CHANNELS.includes(name as ChannelName));
  if (names.length === 0 || unknown.length > 0) {
    problems.push(`ALERT_ROUTES rule "${rule}": channels must be all, none or ${ROUTE_CHANNELS.join(", ")}`);
    return undefined;
  }
  return [...new Set(names as ChannelName[])];
}

function parseRule(rule: string, problems: string[]): RouteRule | null {
  const match = /^([^:=\s]+)\s*:\s*([^=\s]+)\s*=\s*(.+)$/.exec(rule);
  if (!match) {
    problems.push(`ALERT_ROUTES rule "${rule}" must look like <kind>:<severity>=<channels>`);
    return null;
  }
  const [, kind = "", severity = "", channelList = ""] = match;
  if (kind !== "*" && !KIND_PATTERN.test(kind)) {
    problems.push(`ALERT_ROUTES rule "${rule}": "${kind}" is not an incident kind or *`);
    return null;
  }
  if (severity !== "*" && !ROUTE_SEVERITIES.includes(severity as Severity)) {
    problems.push(`ALERT_ROUTES rule "${rule}": severity must be critical, warning, info or *`);
    return null;
  }
  const channels = parseChannels(channelList, rule, problems);
  return channels === undefined ? null : { kind, severity: severity as RouteRule["severity"], channels };
}

/** null when there were problems (they are pushed by name). */
export function parseAlertRoutes(raw: string, problems: string[]): AlertRoutes | null {
  const parts = raw
    .split(/[;\n]/)
    .map((part) => part.trim())
    .filter((part) => part && part !== EVERYWHERE_NAME);
  if (parts.length > ROUTE_RULES_MAX) {
    problems.push(`ALERT_ROUTES has more than ${ROUTE_RULES_MAX} rules`);
    return null;
  }
  const before = problems.length;
  const rules: RouteRule[] = [];
  for (const part of parts) {
    const rule = parseRule(part, problems);
    if (!rule) continue;
    if (rules.some((other) => other.kind === rule.kind && other.severity === rule.severity))
      problems.push(`ALERT_ROUTES names ${rule.kind}:${rule.severity} twice`);
    rules.push(rule);
  }
  return problems.length > before ? null : { rules };
}

const specificity = (rule: RouteRule): number =>
  (rule.kind === "*" ? 0 : 2) + (rule.severity === "*" ? 0 : 1);

/** The configured channels that get a notice of this kind and severity, in configuration order. */
export function routeChannels(
  routes: AlertRoutes,
  kind: string,
  severity: Severity,
  configured: readonly ChannelName[],
): ChannelName[] {
  let best: RouteRule | null = null;
  for (const rule of routes.rules) {
    if ((rule.kind !== "*" && rule.kind !== kind) || (rule.severity !== "*" && rule.severity !== severity))
      continue;
    if (!best || specificity(rule) > specificity(best)) best = rule;
  }
  const allowed = best?.channels ?? null;
  return allowed === null ? [...configured] : configured.filter((name) => allowed.includes(name));
}
