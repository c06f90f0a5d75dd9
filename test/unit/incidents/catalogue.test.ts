import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { MIGRATIONS_DIR } from "../../../dev/migrate.ts";
import {
  incidentKind,
  incidentTitle,
  KNOWN_KINDS,
  SAFE_FROM_CHAT,
  type SuggestedAction,
} from "../../../src/incidents/catalogue.ts";

const SRC = new URL("../../../src/", import.meta.url).pathname;
const ACTIONS: SuggestedAction[] = [
  "sync_order",
  "repair_dry_run",
  "replay_events",
  "resolve_review",
  "refund_extra_payment",
  "acknowledge",
  "mute",
  "resolve",
];
const CJK = /[\u4e00-\u9fff]/;

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return sourceFiles(path);
      return Promise.resolve(/\.tsx?$/.test(entry.name) ? [path] : []);
    }),
  );
  return nested.flat();
}

const read = (path: string) => readFile(path, "utf8");
const all = (text: string, pattern: RegExp) => [...text.matchAll(pattern)].map((m) => m[1] ?? "");

/** Kinds the migrations raise: through the outbox (`_raise`), `open_incident`, or a direct insert. */
async function sqlKinds(): Promise<{ raised: string[]; auditFindings: string[] }> {
  const raised = new Set<string>();
  const auditFindings = new Set<string>();
  for (const file of (await readdir(MIGRATIONS_DIR)).filter((name) => name.endsWith(".sql")).sort()) {
    const sql = await read(join(MIGRATIONS_DIR, file));
    for (const pattern of [
      /_raise\([^,]+,\s*'([a-z_]+)'/g,
      /(?<!function )payguard\.open_incident\([^,]+,\s*'([a-z_]+)'/g,
      /insert into payguard\.incidents \([^)]*\)\s*values \([^,]+,\s*'([a-z_]+)'/g,
    ])
      for (const kind of all(sql, pattern)) raised.add(kind);
    // The audit's finding kinds: each branch of the latest audit_ledger's union.
    const audit = /function payguard\.audit_ledger\([\s\S]*?\n\$\$;/.exec(sql);
    if (audit) {
      auditFindings.clear();
      for (const kind of all(audit[0], /select '([a-z_]+)'/g)) auditFindings.add(kind);
    }
  }
  return { raised: [...raised], auditFindings: [...auditFindings] };
}

/**
 * Kinds the worker raises: every incident literal (`kind: …` followed by `severity:`) outside the catalogue
 * and the console. A template kind (`data_api_${fault}`) is expanded from where its variable comes from.
 */
async function workerKinds(auditFindings: string[]) {
  const literal: string[] = [];
  const templates = new Set<string>();
  for (const path of await sourceFiles(SRC)) {
    const where = relative(SRC, path);
    if (where.startsWith("incidents/") || where.startsWith("admin/ui/")) continue;
    const text = await read(path);
    for (const expression of all(text, /\bkind: ([^\n]+),\s*\n\s*severity:/g)) {
      // `row.kind ?? "unknown"`: a reader's default for a stored row, not a kind anyone raises.
      if (expression.includes("??")) continue;
      literal.push(...all(expression, /"([a-z_]+)"/g));
      for (const template of all(expression, /`([a-z_]+)\$\{/g)) templates.add(template);
    }
  }
  const [result, doctor, billDiff] = await Promise.all(
    ["ledger/result.ts", "ops/doctor.ts", "providers/wechatpay/bill-diff.ts"].map((file) =>
      read(join(SRC, file)),
    ),
  );
  const union = (text: string, name: string) =>
    all(new RegExp(`type ${name} =([^;]+);`).exec(text)?.[1] ?? "", /"([a-z_]+)"/g);
  const expanded: Record<string, string[]> = {
    data_api_: union(result ?? "", "DataApiFault"),
    doctor_: [
      ...all(doctor ?? "", /finding\(\s*"([a-z_]+)"/g),
      ...all(doctor ?? "", /beyondIntent\("([a-z]+)"/g).map((kind) => `${kind}_exposed`),
    ],
    audit_: auditFindings,
    bill_: all(
      /export type BillFinding =([\s\S]+?);\n/.exec(billDiff ?? "")?.[1] ?? "",
      /kind: "([a-z_]+)"/g,
    ),
  };
  expect([...templates].sort()).toEqual(Object.keys(expanded).sort());
  return [
    ...literal,
    ...Object.entries(expanded).flatMap(([prefix, kinds]) => kinds.map((k) => `${prefix}${k}`)),
  ];
}

describe("the incident catalogue", () => {
  it("has an entry for every incident kind the SQL and the worker raise", async () => {
    const sql = await sqlKinds();
    const worker = await workerKinds(sql.auditFindings);
    const found = [...new Set([...sql.raised, ...worker])].sort();
    // The extraction itself still finds what it should (a silent regex would make this test vacuous).
    expect(found).toEqual(
      expect.arrayContaining([
        "needs_review",
        "paid_after_rejection",
        "app_hook_failed",
        "data_api_unavailable",
        "doctor_migrations",
        "doctor_table_exposed",
        "audit_needs_review",
        "bill_refund_missing_here",
        "callback_failure_rate",
        "refund_closed",
        "balance_repaired",
      ]),
    );
    expect(found.filter((kind) => !KNOWN_KINDS.includes(kind))).toEqual([]);
    // And nothing is catalogued that payguard never raises.
    expect(KNOWN_KINDS.filter((kind) => !found.includes(kind))).toEqual([]);
  });

  it("gives every kind a title and a 2–5 step runbook in English and Chinese, and actions that exist", () => {
    for (const kind of KNOWN_KINDS) {
      const entry = incidentKind(kind);
      for (const lang of ["en", "zh"] as const) {
        const title = entry.title({}, lang);
        expect(title, `${kind} ${lang}`).toBeTruthy();
        if (lang === "zh") expect(title, kind).toMatch(CJK);
        expect(entry.runbook[lang].length, `${kind} ${lang}`).toBeGreaterThanOrEqual(2);
        expect(entry.runbook[lang].length, `${kind} ${lang}`).toBeLessThanOrEqual(5);
        for (const step of entry.runbook[lang]) expect(step.trim()).not.toBe("");
        if (lang === "zh") for (const step of entry.runbook.zh) expect(step, kind).toMatch(CJK);
      }
      for (const action of entry.actions) expect(ACTIONS).toContain(action);
    }
    expect([...SAFE_FROM_CHAT].sort()).toEqual(["acknowledge", "mute", "sync_order"]);
  });

  it("builds titles from the detail, never an English summary inside a Chinese one", () => {
    const mismatch = {
      order_id: "ord_abc123",
      reason: "payment 999 (+0 discount) USD via stripe does not match order 1999 USD via stripe",
    };
    expect(incidentTitle("needs_review", mismatch, "Order ord_abc123 needs review: …", "en")).toBe(
      "Order ord_abc123 needs review: payment 9.99 USD (+0.00 USD discount) via Stripe does not match the order's 19.99 USD via Stripe",
    );
    expect(incidentTitle("needs_review", mismatch, "ignored", "zh")).toBe(
      "订单 ord_abc123 待审核：付款 9.99 USD（优惠 0.00 USD，Stripe）与订单 19.99 USD（Stripe）不符",
    );
    const unknownReason = { order_id: "ord_abc123", reason: "a reason written by a newer migration" };
    expect(incidentTitle("needs_review", unknownReason, "s", "zh")).not.toContain("newer migration");
    expect(incidentTitle("needs_review", unknownReason, "s", "en")).toContain(
      "a reason written by a newer migration",
    );
    expect(incidentTitle("app_hook_failed", { order_id: "ord_x1y2z3" }, "s", "zh")).toBe(
      "订单 ord_x1y2z3：应用钩子 payguard_app.on_settled 执行失败，结算已回滚，正在重试",
    );
    expect(
      incidentTitle(
        "bill_missing_here",
        { bill_date: "2026-12-01", orderId: "ord_w1", transactionId: "4200001", amountMinor: 990 },
        "s",
        "en",
      ),
    ).toBe("WeChat Pay bill 2026-12-01: payment 4200001 (9.90 CNY) for order ord_w1 is not credited here");
    expect(
      incidentTitle(
        "callback_failure_rate",
        { provider: "wechatpay", failed: 3, deliveries: 10, rate: 0.3, threshold: 0.05 },
        "s",
        "zh",
      ),
    ).toBe("微信支付 回调失败率过高：10 次中失败 3 次（30%），阈值 5%");
  });

  it("falls back to the stored summary and a generic runbook for a kind it does not know", () => {
    expect(incidentTitle("from_the_future", {}, "Stored summary", "zh")).toBe("Stored summary");
    expect(incidentKind("from_the_future").runbook.zh[0]).toMatch(CJK);
    expect(incidentKind("from_the_future").actions).toEqual([]);
  });
});
