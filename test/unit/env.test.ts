import { describe, expect, it } from "vitest";
import {
  CHECKOUT_PENDING_PER_USER_MAX_DEFAULT,
  CHECKOUT_PENDING_PER_USER_PACKAGE_MAX_DEFAULT,
  CHECKOUT_STOCK_PER_USER_MAX_DEFAULT,
  CONFIRM_QUERIES_PER_USER_MINUTE_MAX_DEFAULT,
} from "../../src/checkout/limits.ts";
import { ConfigError, loadConfig, parseConfig } from "../../src/env.ts";

const valid = {
  PUBLIC_BASE_URL: "https://pay.example.com/",
  SUPABASE_URL: "https://abc.supabase.co",
  SUPABASE_SECRET_KEY: "sb_secret_0123456789abcdef",
  ADMIN_TOKEN: "a".repeat(32),
  PROVIDERS: "stripe",
  STRIPE_SECRET_KEY: "sk_test_123",
  STRIPE_WEBHOOK_SECRET: "whsec_current",
  STRIPE_WEBHOOK_SECRET_PREVIOUS: "whsec_previous",
  STRIPE_API_BASE: "",
};

describe("configuration", () => {
  it("parses a complete configuration and keeps both webhook secrets for rotation", () => {
    const result = parseConfig(valid);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.publicBaseUrl).toBe("https://pay.example.com");
    expect(result.config.stripe?.webhookSecrets).toEqual(["whsec_current", "whsec_previous"]);
    expect(result.config.alerts.channels).toEqual([]);
  });

  it("names every missing or invalid variable at once", () => {
    const result = parseConfig({
      ...valid,
      SUPABASE_URL: "",
      ADMIN_TOKEN: "short",
      STRIPE_WEBHOOK_SECRET: "nope",
    });
    expect(result).toEqual({
      ok: false,
      problems: [
        "SUPABASE_URL is missing",
        "ADMIN_TOKEN is missing or shorter than 24 characters",
        "STRIPE_WEBHOOK_SECRET must start with whsec_",
      ],
    });
  });

  it("rejects unknown providers and requires a DingTalk secret with its webhook", () => {
    const result = parseConfig({
      ...valid,
      PROVIDERS: "stripe,paypal",
      DINGTALK_WEBHOOK_URL: "https://x.test",
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toContain("PROVIDERS has unknown provider(s): paypal");
    expect(result.problems).toContain("DINGTALK_SECRET is missing (DINGTALK_WEBHOOK_URL is set)");
  });

  it("asks for the settings of the enabled providers only", () => {
    const { STRIPE_SECRET_KEY: _a, STRIPE_WEBHOOK_SECRET: _b, ...rest } = valid;
    expect(parseConfig(rest).ok).toBe(false);
    const wechatOnly = parseConfig({ ...rest, PROVIDERS: "wechatpay" });
    expect(wechatOnly.ok).toBe(false);
    if (wechatOnly.ok) return;
    expect(wechatOnly.problems).toContain("WECHATPAY_MCHID is missing");
    expect(wechatOnly.problems.some((p) => p.startsWith("STRIPE"))).toBe(false);
  });

  it("takes the Supabase key from SUPABASE_SECRET_KEY, or the deprecated name with a warning", () => {
    const legacyJwt = `${btoa(JSON.stringify({ alg: "HS256" }))}.${btoa(JSON.stringify({ role: "service_role" }))}.sig`;
    const current = parseConfig({ ...valid, SUPABASE_SECRET_KEY: legacyJwt });
    expect(current.ok && current.config.supabaseSecretKey).toBe(legacyJwt);
    expect(current.ok && current.warnings).toEqual([]);
    const { SUPABASE_SECRET_KEY: _key, ...withoutKey } = valid;
    const deprecated = parseConfig({ ...withoutKey, SUPABASE_SERVICE_ROLE_KEY: "sb_secret_old_name" });
    expect(deprecated.ok && deprecated.config.supabaseSecretKey).toBe("sb_secret_old_name");
    expect(deprecated.ok && deprecated.warnings).toEqual([
      "SUPABASE_SERVICE_ROLE_KEY is deprecated: set SUPABASE_SECRET_KEY instead",
    ]);
    expect(current.ok && current.config.supabaseJwtSecret).toBeNull();
    const fallback = parseConfig({ ...valid, SUPABASE_JWT_SECRET: "legacy-secret" });
    expect(fallback.ok && fallback.config.supabaseJwtSecret).toBe("legacy-secret");
  });

  it("refuses a key that cannot call payguard's functions (publishable, anon, unknown)", () => {
    const anonJwt = `${btoa(JSON.stringify({ alg: "HS256" }))}.${btoa(JSON.stringify({ role: "anon" }))}.sig`;
    for (const key of ["sb_publishable_abc", anonJwt, "service-role-key"]) {
      expect(parseConfig({ ...valid, SUPABASE_SECRET_KEY: key })).toEqual({
        ok: false,
        problems: ["SUPABASE_SECRET_KEY must be a secret key (sb_secret_…) or the legacy service_role JWT"],
      });
    }
  });

  it("takes exact browser origins for /api/* and refuses anything else by name", () => {
    const result = parseConfig({ ...valid, APP_ORIGINS: "https://app.example.com, http://localhost:5173" });
    expect(result.ok && result.config.appOrigins).toEqual([
      "https://app.example.com",
      "http://localhost:5173",
    ]);
    expect(parseConfig(valid)).toMatchObject({ ok: true, config: { appOrigins: [] } });
    expect(parseConfig({ ...valid, APP_ORIGINS: "https://app.example.com/shop,*" })).toEqual({
      ok: false,
      problems: [
        'APP_ORIGINS has "https://app.example.com/shop", which is not an origin like https://app.example.com',
        'APP_ORIGINS has "*", which is not an origin like https://app.example.com',
      ],
    });
  });

  it("takes the per-user abuse limits, their named defaults when unset, and names an invalid one", () => {
    expect(parseConfig(valid)).toMatchObject({
      ok: true,
      config: {
        checkout: {
          limits: {
            pendingPerUserMax: CHECKOUT_PENDING_PER_USER_MAX_DEFAULT,
            pendingPerUserPackageMax: CHECKOUT_PENDING_PER_USER_PACKAGE_MAX_DEFAULT,
            stockPerUserMax: CHECKOUT_STOCK_PER_USER_MAX_DEFAULT,
            confirmQueriesPerUserMinuteMax: CONFIRM_QUERIES_PER_USER_MINUTE_MAX_DEFAULT,
          },
        },
      },
    });
    const set = parseConfig({
      ...valid,
      CHECKOUT_PENDING_PER_USER_MAX: "20",
      CHECKOUT_PENDING_PER_USER_PACKAGE_MAX: " 5 ",
      CHECKOUT_STOCK_PER_USER_MAX: "1",
      CONFIRM_QUERIES_PER_USER_MINUTE_MAX: "30",
    });
    expect(set.ok && set.config.checkout.limits).toEqual({
      pendingPerUserMax: 20,
      pendingPerUserPackageMax: 5,
      stockPerUserMax: 1,
      confirmQueriesPerUserMinuteMax: 30,
    });
    const invalid = parseConfig({
      ...valid,
      CHECKOUT_PENDING_PER_USER_MAX: "0",
      CHECKOUT_PENDING_PER_USER_PACKAGE_MAX: "2.5",
      CHECKOUT_STOCK_PER_USER_MAX: "lots",
      CONFIRM_QUERIES_PER_USER_MINUTE_MAX: "1000001",
    });
    expect(invalid).toEqual({
      ok: false,
      problems: [
        "CHECKOUT_PENDING_PER_USER_MAX must be a whole number from 1 to 1000000",
        "CHECKOUT_PENDING_PER_USER_PACKAGE_MAX must be a whole number from 1 to 1000000",
        "CHECKOUT_STOCK_PER_USER_MAX must be a whole number from 1 to 1000000",
        "CONFIRM_QUERIES_PER_USER_MINUTE_MAX must be a whole number from 1 to 1000000",
      ],
    });
  });

  it("loadConfig throws a ConfigError whose message names the variable", () => {
    expect(() => loadConfig({ ...valid, SUPABASE_SECRET_KEY: undefined })).toThrowError(ConfigError);
    expect(() => loadConfig({ ...valid, SUPABASE_SECRET_KEY: undefined })).toThrowError(
      /SUPABASE_SECRET_KEY is missing/,
    );
  });
});
