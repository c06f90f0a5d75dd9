import { describe, expect, it } from "vitest";
import { callFinding, doctorFindings } from "../../../src/ops/doctor.ts";
import type { DoctorFacts } from "../../../src/ops/store.ts";

const fn = (name: string, grants: Partial<DoctorFacts["functions"][number]> = {}) => ({
  name,
  signature: `payguard.${name}(text)`,
  internal: name.startsWith("_"),
  service_role: !name.startsWith("_"),
  public: false,
  anon: false,
  authenticated: false,
  ...grants,
});

const healthy = (): DoctorFacts => ({
  migrations: {
    table: "supabase_migrations.schema_migrations",
    latest: "20300101000000",
    expected_applied: true,
  },
  functions: [fn("get_order"), fn("_flag")],
  tables: [
    { name: "payment_orders", rls: true, grants: { public: [], anon: [], authenticated: ["select"] } },
    {
      name: "credit_packages",
      rls: true,
      grants: { public: [], anon: ["select"], authenticated: ["select"] },
    },
  ],
  sequences: [{ name: "incidents_id_seq", grants: { public: [], anon: [], authenticated: [] } }],
  app_hook: { defined: false, callable: false },
});
const expected = { migration: "20261122009000", functions: ["get_order"] };
const keys = (facts: DoctorFacts) => doctorFindings(facts, expected).map((found) => found.key);

describe("doctor findings", () => {
  it("a healthy installation (the app's later migrations in the same table included) has none", () => {
    expect(doctorFindings(healthy(), expected)).toEqual([]);
  });

  it("each problem is one finding whose summary names the fix", () => {
    const facts = healthy();
    facts.migrations = {
      table: "payguard_meta.applied_migrations",
      latest: "20261122004500",
      expected_applied: false,
    };
    facts.functions = [
      fn("get_order", { authenticated: true, public: true }),
      fn("_flag", { service_role: true }),
    ];
    facts.tables = [
      { name: "payment_orders", rls: false, grants: { public: [], anon: [], authenticated: ["select"] } },
    ];
    facts.app_hook = { defined: true, callable: false };
    const findings = doctorFindings(facts, { ...expected, functions: ["get_order", "apply_payment"] });
    expect(findings.map((found) => found.key)).toEqual([
      "doctor:migrations",
      "doctor:function_missing:apply_payment",
      "doctor:function_exposed:get_order",
      "doctor:function_exposed:_flag",
      "doctor:rls_disabled:payment_orders",
      "doctor:app_hook",
    ]);
    expect(findings[0]?.summary).toContain("expected 20261122009000, latest applied 20261122004500");
    expect(findings[2]?.summary).toContain(
      "Fix: revoke execute on function payguard.get_order(text) from public, authenticated;",
    );
    expect(findings[3]?.summary).toContain("from service_role;");
  });

  it("a table or sequence PUBLIC, anon or authenticated can use beyond what RLS is for names the revoke", () => {
    const facts = healthy();
    facts.tables = [
      // Reading the active packages and one's own orders is what the policies are for.
      {
        name: "credit_packages",
        rls: true,
        grants: { public: [], anon: ["select"], authenticated: ["select"] },
      },
      {
        name: "payment_orders",
        rls: true,
        grants: { public: [], anon: ["select"], authenticated: ["select", "update"] },
      },
      { name: "incidents", rls: true, grants: { public: ["select"], anon: [], authenticated: [] } },
    ];
    facts.sequences = [
      { name: "incidents_id_seq", grants: { public: [], anon: ["usage"], authenticated: [] } },
    ];
    const findings = doctorFindings(facts, expected);
    expect(findings.map((found) => [found.key, found.severity])).toEqual([
      ["doctor:table_exposed:payment_orders", "critical"],
      ["doctor:table_exposed:incidents", "critical"],
      ["doctor:sequence_exposed:incidents_id_seq", "critical"],
    ]);
    expect(findings[0]?.summary).toContain("(anon: select; authenticated: update)");
    expect(findings[0]?.summary).toContain(
      "Fix: revoke select on payguard.payment_orders from anon; revoke update on payguard.payment_orders from authenticated;",
    );
    expect(findings[2]?.summary).toContain("revoke usage on sequence payguard.incidents_id_seq from anon;");
  });

  it("a function service_role cannot execute names the grant", () => {
    const facts = healthy();
    facts.functions = [fn("get_order", { service_role: false })];
    expect(keys(facts)).toEqual(["doctor:function_not_executable:get_order"]);
  });

  it("no tracking table at all means the migrations never ran", () => {
    const facts = healthy();
    facts.migrations = { table: null, latest: null, expected_applied: false };
    expect(keys(facts)).toEqual(["doctor:migrations"]);
  });

  it("the doctor call's own failure says what it can, and nothing for a transient error", () => {
    const error = (code: string) => ({ kind: "permanent" as const, code, message: code });
    expect(callFinding(error("PGRST106"))?.key).toBe("doctor:schema_not_exposed");
    expect(callFinding(error("PGRST202"))?.key).toBe("doctor:function_missing:doctor");
    expect(callFinding(error("42501"))?.summary).toContain("grant execute on function payguard.doctor(text)");
    expect(callFinding({ kind: "transient", code: "HTTP_503", message: "down" })).toBeNull();
  });
});
