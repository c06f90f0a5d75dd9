// Routing rules (ALERT_ROUTES): the named default sends everything everywhere; the most specific rule wins;
// every mistake is named.
import { describe, expect, it } from "vitest";
import { EVERYWHERE, parseAlertRoutes, routeChannels } from "../../../src/alerts/routes.ts";
import type { ChannelName } from "../../../src/alerts/settings.ts";

const ALL: ChannelName[] = ["slack", "dingtalk", "wecom", "email"];

function routes(raw: string) {
  const problems: string[] = [];
  const parsed = parseAlertRoutes(raw, problems);
  expect(problems).toEqual([]);
  return parsed ?? EVERYWHERE;
}

describe("routing rules", () => {
  it("everywhere (or nothing at all) sends every severity of every kind to every configured channel", () => {
    for (const raw of ["", "everywhere"])
      for (const severity of ["critical", "warning", "info"] as const)
        expect(routeChannels(routes(raw), "unknown_order", severity, ALL)).toEqual(ALL);
    expect(routeChannels(EVERYWHERE, "x", "info", ["wecom"])).toEqual(["wecom"]);
  });

  it("sends warnings only by email while criticals still go everywhere", () => {
    const table = routes("everywhere; *:warning=email");
    expect(routeChannels(table, "needs_review", "warning", ALL)).toEqual(["email"]);
    expect(routeChannels(table, "needs_review", "critical", ALL)).toEqual(ALL);
  });

  it("prefers an exact kind to *, then an exact severity to *", () => {
    const table = routes(
      "*:*=email; *:info=none\nunknown_order:*=slack,dingtalk; unknown_order:critical=all; bill_missing_here:info=wecom",
    );
    expect(routeChannels(table, "other", "critical", ALL)).toEqual(["email"]);
    expect(routeChannels(table, "other", "info", ALL)).toEqual([]);
    expect(routeChannels(table, "unknown_order", "info", ALL)).toEqual(["slack", "dingtalk"]);
    expect(routeChannels(table, "unknown_order", "critical", ALL)).toEqual(ALL);
    expect(routeChannels(table, "bill_missing_here", "info", ALL)).toEqual(["wecom"]);
  });

  it("only routes to channels that are configured", () => {
    expect(routeChannels(routes("*:*=slack,email"), "x", "warning", ["dingtalk", "email"])).toEqual([
      "email",
    ]);
  });

  it("names each mistake", () => {
    const problems: string[] = [];
    expect(
      parseAlertRoutes(
        "unknown_order=slack; *:loud=email; *:info=pager; a b:info=all; *:info=email; *:info=none",
        problems,
      ),
    ).toBeNull();
    expect(problems).toEqual([
      'ALERT_ROUTES rule "unknown_order=slack" must look like <kind>:<severity>=<channels>',
      'ALERT_ROUTES rule "*:loud=email": severity must be critical, warning, info or *',
      'ALERT_ROUTES rule "*:info=pager": channels must be all, none or slack, dingtalk, wecom, email',
      'ALERT_ROUTES rule "a b:info=all" must look like <kind>:<severity>=<channels>',
      "ALERT_ROUTES names *:info twice",
    ]);
  });
});
