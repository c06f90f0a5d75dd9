import { describe, expect, it } from "vitest";
import { EXPECTED_FUNCTIONS, EXPECTED_MIGRATION } from "../src/ops/expected-schema.ts";
import type { DoctorFacts } from "../src/ops/store.ts";
import {
  configFindings,
  doctorCallFindings,
  doctorFactsFindings,
  exitCodeFor,
  hostingFindings,
  namesIn,
  renderReport,
  sizeFindings,
  WORKER_SIZE_LIMIT_BYTES,
} from "./deploy-check-findings.ts";

const MIB = 1024 * 1024;
const levels = (findings: Array<{ level: string }>) => findings.map((finding) => finding.level);

describe("bundle size verdict", () => {
  it("is ok well under Cloudflare's uncompressed limit and reports gzip against the former limits", () => {
    const [verdict, former] = sizeFindings({ rawBytes: 2.7 * MIB, gzipBytes: 0.46 * MIB });
    expect(verdict).toMatchObject({ level: "ok" });
    expect(verdict?.message).toContain("4.2 % of Cloudflare's 64 MiB Worker size limit");
    expect(former).toMatchObject({ level: "info" });
    expect(former?.message).toContain("under both");
  });

  it("warns past 80 % of the limit and is an error over it, whatever gzip says", () => {
    expect(levels(sizeFindings({ rawBytes: 0.9 * WORKER_SIZE_LIMIT_BYTES, gzipBytes: MIB }))[0]).toBe(
      "warning",
    );
    const over = sizeFindings({ rawBytes: WORKER_SIZE_LIMIT_BYTES + 1, gzipBytes: MIB });
    expect(over[0]).toMatchObject({ level: "error", fix: expect.stringContaining("dependencies") });
    expect(sizeFindings({ rawBytes: MIB, gzipBytes: 4 * MIB })[1]?.message).toContain(
      "over the Free one, under the Paid one",
    );
  });
});

const stripeVars = {
  PUBLIC_BASE_URL: "https://pay.shop.dev",
  SUPABASE_URL: "https://abcd.supabase.co",
  PROVIDERS: "stripe",
  STRIPE_API_BASE: "",
  CHECKOUT_SUCCESS_URL: "https://app.shop.dev/paid?order={ORDER_ID}&session_id={CHECKOUT_SESSION_ID}",
  CHECKOUT_CANCEL_URL: "https://app.shop.dev/cancelled?order={ORDER_ID}",
  WECHATPAY_MCHID: "",
  WECHATPAY_APPID: "",
  WECHATPAY_MERCHANT_SERIAL: "",
  WECHATPAY_PUBLIC_KEY_ID: "",
};
const required = ["ADMIN_TOKEN", "SUPABASE_SECRET_KEY"];
const secrets = {
  ADMIN_TOKEN: "t".repeat(32),
  SUPABASE_SECRET_KEY: "sb_secret_0123456789abcdef",
  STRIPE_SECRET_KEY: "rk_live_123",
  STRIPE_WEBHOOK_SECRET: "whsec_abc",
};

describe("configuration through the worker's own validation", () => {
  it("passes vars and exported secrets that the worker accepts", () => {
    const findings = configFindings({ vars: stripeVars, requiredSecrets: required, environment: secrets });
    expect(findings).toEqual([
      { level: "ok", message: "wrangler.toml [vars] pass the worker's own validation (src/env.ts)" },
    ]);
  });

  it("names each secret this shell lacks once, with its wrangler secret put, as a warning", () => {
    const findings = configFindings({ vars: stripeVars, requiredSecrets: required, environment: {} });
    expect(levels(findings)).toEqual(["ok", "warning", "warning", "warning", "warning"]);
    expect(findings.map((finding) => finding.fix?.split("  ")[0])).toEqual([
      undefined,
      "wrangler secret put ADMIN_TOKEN",
      "wrangler secret put SUPABASE_SECRET_KEY",
      "wrangler secret put STRIPE_SECRET_KEY",
      "wrangler secret put STRIPE_WEBHOOK_SECRET",
    ]);
    expect(findings[1]?.message).toContain("wrangler deploy refuses to deploy without it");
  });

  it("is an error for a var the worker refuses, and for an exported secret it refuses", () => {
    const findings = configFindings({
      vars: {
        ...stripeVars,
        PROVIDERS: "stripe,wechatpay",
        CHECKOUT_SUCCESS_URL: "https://app.shop.dev/paid",
      },
      requiredSecrets: required,
      environment: { ...secrets, STRIPE_WEBHOOK_SECRET: "not-a-whsec", ADMIN_TOKENS: "alice:nothex" },
    });
    const errors = findings.filter((finding) => finding.level === "error");
    expect(errors.map((finding) => finding.message)).toEqual([
      "STRIPE_WEBHOOK_SECRET must start with whsec_",
      "WECHATPAY_MCHID is missing",
      "WECHATPAY_APPID is missing",
      "WECHATPAY_MERCHANT_SERIAL is missing",
      "CHECKOUT_SUCCESS_URL must contain {CHECKOUT_SESSION_ID}",
      "ADMIN_TOKENS must be name:<sha256 hex> pairs separated by commas",
    ]);
    expect(errors[0]?.fix).toBe("correct the value, then wrangler secret put STRIPE_WEBHOOK_SECRET");
    expect(errors[1]?.fix).toBe("correct WECHATPAY_MCHID in wrangler.toml [vars]");
    // WeChat's secrets are not here: those problems wait for wrangler secret put, they are not errors.
    expect(
      findings.filter((finding) => finding.level === "warning").map((f) => f.fix?.split("  ")[0]),
    ).toEqual([
      "wrangler secret put WECHATPAY_MERCHANT_PRIVATE_KEY",
      "wrangler secret put WECHATPAY_APIV3_KEY",
    ]);
    expect(exitCodeFor([{ title: "Configuration", findings }])).toBe(1);
  });

  it("reads configuration names from a problem, not the placeholders it quotes", () => {
    expect(namesIn("CHECKOUT_SUCCESS_URL must contain {CHECKOUT_SESSION_ID}")).toEqual([
      "CHECKOUT_SUCCESS_URL",
    ]);
    expect(namesIn("WECHATPAY_MERCHANT_PRIVATE_KEY must be a PKCS#8 PEM (BEGIN PRIVATE KEY)")).toEqual([
      "WECHATPAY_MERCHANT_PRIVATE_KEY",
    ]);
  });
});

describe("hosting", () => {
  const hosted = {
    vars: stripeVars,
    workersDev: false,
    previewUrls: false,
    routes: [{ pattern: "pay.shop.dev", custom_domain: true }],
  };

  it("has nothing to say about a custom domain that is PUBLIC_BASE_URL, with workers.dev and previews off", () => {
    expect(hostingFindings(hosted)).toEqual([]);
  });

  it("warns about placeholders, a missing route, workers.dev and preview URLs; a private URL is an error", () => {
    const template = hostingFindings({
      vars: { ...stripeVars, PUBLIC_BASE_URL: "https://payguard.example.com", CHECKOUT_SUCCESS_URL: "" },
      workersDev: undefined,
      previewUrls: undefined,
      routes: [],
    });
    expect(template.map((finding) => finding.message.split(" ")[0])).toEqual([
      "PUBLIC_BASE_URL",
      "CHECKOUT_SUCCESS_URL",
      "no",
      "workers_dev",
      "preview_urls",
    ]);
    expect(levels(template).every((level) => level === "warning")).toBe(true);
    const local = hostingFindings({
      ...hosted,
      vars: { ...stripeVars, PUBLIC_BASE_URL: "http://127.0.0.1:8787" },
    });
    expect(local[0]).toMatchObject({ level: "error" });
    expect(local[0]?.message).toContain("not https");
    expect(hostingFindings({ ...hosted, routes: ["other.shop.dev/*"] })[0]?.message).toContain(
      "host pay.shop.dev is not among the routes (other.shop.dev)",
    );
  });
});

const fn = (name: string) => ({
  name,
  signature: `payguard.${name}()`,
  internal: false,
  service_role: true,
  public: false,
  anon: false,
  authenticated: false,
});

const noGrants = { public: [], anon: [], authenticated: [] };

describe("installation doctor over SQL", () => {
  const healthy: DoctorFacts = {
    migrations: {
      table: "payguard_meta.applied_migrations",
      latest: EXPECTED_MIGRATION,
      expected_applied: true,
    },
    functions: EXPECTED_FUNCTIONS.map(fn),
    tables: [{ name: "payment_orders", rls: true, grants: noGrants }],
    sequences: [],
    app_hook: { defined: false, callable: false },
  };

  it("renders the worker's findings with their fixes, as errors", () => {
    const findings = doctorFactsFindings({
      ...healthy,
      tables: [{ name: "payment_orders", rls: false, grants: noGrants }],
    });
    expect(findings).toEqual([
      {
        level: "error",
        message: "Row-level security is off on payguard.payment_orders [doctor:rls_disabled:payment_orders]",
        fix: "alter table payguard.payment_orders enable row level security;",
      },
    ]);
  });

  it("says ok for a healthy database, and 'function missing' when payguard.doctor does not exist", () => {
    expect(levels(doctorFactsFindings(healthy))).toEqual(["ok"]);
    const [missing] = doctorCallFindings({
      code: "42883",
      message: "function payguard.doctor(text) does not exist",
    });
    expect(missing).toMatchObject({ level: "error" });
    expect(missing?.message).toContain(
      "Function payguard.doctor is missing [doctor:function_missing:doctor]",
    );
    expect(doctorCallFindings({ code: "28P01", message: "password authentication failed" })[0]?.message).toBe(
      "could not run payguard.doctor: 28P01 password authentication failed",
    );
  });
});

describe("report", () => {
  it("prints one line per finding, its fix under it, and a tally; only errors fail the check", () => {
    const sections = [
      { title: "Bundle", findings: [{ level: "ok" as const, message: "small" }] },
      {
        title: "Hosting",
        findings: [{ level: "warning" as const, message: "workers.dev", fix: "workers_dev = false" }],
      },
    ];
    expect(renderReport("payguard deploy check", sections)).toBe(
      [
        "payguard deploy check",
        "",
        "Bundle",
        "  ok     small",
        "",
        "Hosting",
        "  warn   workers.dev",
        "         fix: workers_dev = false",
        "",
        "0 errors, 1 warning: read the warnings, then wrangler deploy",
      ].join("\n"),
    );
    expect(exitCodeFor(sections)).toBe(0);
  });
});
