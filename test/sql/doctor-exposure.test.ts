/**
 * The one doctor check SQL cannot make: is schema payguard exposed to the Data API? A stand-in whose
 * PostgREST exposes only `public` answers 406 PGRST106, which opens one incident naming the setting; the
 * same database behind a stand-in that exposes payguard resolves it. The database is this suite's own
 * (PGlite on disk, reopened by the second stand-in), and incidents go straight to its mirror table, which
 * is where the AlertDesk writes them too.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@supabase/supabase-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StandIn, startStandIn } from "../../dev/supabase/standin.ts";
import { createSupabaseLedgerStore } from "../../src/db/ledger-store.ts";
import { type Deps, PAYGUARD_SCHEMA } from "../../src/deps.ts";
import type { AlertSink } from "../../src/ledger/ports.ts";
import { ok } from "../../src/ledger/result.ts";
import { runDoctor } from "../../src/ops/doctor.ts";
import { createOpsStore } from "../../src/ops/store.ts";

const KEY = "doctor:schema_not_exposed";
let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "payguard-doctor-"));
});
afterAll(() => rm(dataDir, { recursive: true, force: true }));

/**
 * What the doctor needs from Deps: its calls over supabase-js against `standIn`, and incidents written
 * with SQL as the owner, since through an unexposed schema the mirror's own calls would fail too (the desk
 * keeps them journalled until they go through).
 */
function doctorDeps(standIn: StandIn): Deps {
  const client = createClient(standIn.url, standIn.secretKey, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    db: { schema: PAYGUARD_SCHEMA },
  });
  const found = async (query: string, params: unknown[]) => {
    const [row] = await standIn.query<{ answer: { found: boolean } }>(`select ${query} as answer`, params);
    return ok({ found: row?.answer.found === true });
  };
  const alerts: AlertSink = {
    raise: async (incident, nowMs) => {
      await standIn.query("select payguard.open_incident($1, $2, $3, $4, $5::jsonb, $6)", [
        incident.key,
        incident.kind,
        incident.severity,
        incident.summary,
        JSON.stringify(incident.detail),
        new Date(nowMs),
      ]);
      return ok(undefined);
    },
    resolve: async (key, nowMs) => {
      await standIn.query("select payguard.resolve_incident($1, $2)", [key, new Date(nowMs)]);
      return ok(undefined);
    },
    acknowledge: (key, actor, nowMs) =>
      found("payguard.acknowledge_incident($1, $2, $3)", [key, actor, new Date(nowMs)]),
    mute: (key, untilMs, actor, nowMs) =>
      found("payguard.mute_incident($1, $2, $3, $4)", [key, new Date(untilMs), actor, new Date(nowMs)]),
  };
  return {
    store: createSupabaseLedgerStore(client),
    alerts,
    ops: createOpsStore(client),
  } as unknown as Deps;
}

async function withStandIn<T>(schemas: string[] | undefined, work: (standIn: StandIn) => Promise<T>) {
  const standIn = await startStandIn({ jwtSecret: "doctor-exposure-secret-0123456789", dataDir, schemas });
  try {
    return await work(standIn);
  } finally {
    await standIn.close();
  }
}

const incidents = (standIn: StandIn) =>
  standIn.query<{ status: string; summary: string }>(
    "select status, summary from payguard.incidents where key = $1 order by id",
    [KEY],
  );

describe("installation doctor: schema exposure", () => {
  it("payguard not exposed opens one incident naming the setting; exposing it resolves it", async () => {
    await withStandIn(["public"], async (standIn) => {
      const report = await runDoctor(doctorDeps(standIn), Date.now());
      expect(report.failing).toEqual([KEY]);
      await runDoctor(doctorDeps(standIn), Date.now());
      const rows = await incidents(standIn);
      expect(rows).toHaveLength(1);
      expect(rows[0]?.status).toBe("open");
      expect(rows[0]?.summary).toContain("406 PGRST106");
      expect(rows[0]?.summary).toContain("Fix: add payguard to Exposed schemas");
    });
    await withStandIn(undefined, async (standIn) => {
      expect(await runDoctor(doctorDeps(standIn), Date.now())).toEqual({ failing: [], unchecked: null });
      expect(await incidents(standIn)).toEqual([expect.objectContaining({ status: "resolved" })]);
    });
  });
});
