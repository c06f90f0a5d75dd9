/**
 * When a failed delivery raises a `data_api:` incident and which a settled delivery resolves: one per class,
 * its summary ending in the fix; an unreachable database only after several failures in a row; a class
 * raised again only after the interval; nothing to do on the success path while nothing is open.
 */
import { describe, expect, it } from "vitest";
import type { DataApiFault, InfraError } from "../../../src/ledger/result.ts";
import {
  createDataApiWatch,
  DATA_API_RAISE_INTERVAL_MS,
  DATA_API_UNAVAILABLE_STREAK_MIN,
  dataApiIncident,
} from "../../../src/ops/data-api.ts";

const failure = (
  fault: DataApiFault | undefined,
  kind: InfraError["kind"] = "misconfigured",
): InfraError => ({
  kind,
  code: "X",
  message: "settle_event: no",
  ...(fault ? { fault } : {}),
});

describe("data_api incidents", () => {
  it("names the fix for every class", () => {
    const fixes: Record<DataApiFault, RegExp> = {
      schema_not_exposed: /Fix: expose schema payguard in the Data API settings/,
      function_missing: /Fix: apply supabase\/migrations \(`npm run db:migrate`.*before deploying the code/,
      permission_denied: /Fix: restore the grant.*run the doctor/,
      key_rejected: /Fix: set SUPABASE_SECRET_KEY to the project's secret key/,
      unavailable: /Fix: check the database/,
    };
    for (const [fault, fix] of Object.entries(fixes) as Array<[DataApiFault, RegExp]>) {
      const incident = dataApiIncident(fault, failure(fault));
      expect(incident).toMatchObject({
        key: `data_api:${fault}`,
        kind: `data_api_${fault}`,
        severity: "critical",
      });
      expect(incident.summary).toMatch(fix);
      expect(incident.detail).toMatchObject({ fault, code: "X", message: "settle_event: no" });
    }
  });

  it("raises a misconfiguration at its first failure, once per interval, and resolves it when a delivery settles", () => {
    const watch = createDataApiWatch();
    expect(watch.settled()).toEqual([]);
    expect(watch.failed(failure("function_missing"), 0)?.key).toBe("data_api:function_missing");
    expect(watch.failed(failure("function_missing"), 1)).toBeNull();
    expect(watch.failed(failure("schema_not_exposed"), 2)?.key).toBe("data_api:schema_not_exposed");
    expect(watch.failed(failure("function_missing"), DATA_API_RAISE_INTERVAL_MS)?.key).toBe(
      "data_api:function_missing",
    );
    expect(watch.settled().sort()).toEqual(["data_api:function_missing", "data_api:schema_not_exposed"]);
    expect(watch.settled()).toEqual([]);
    // Resolved: the next failure raises again at once.
    expect(watch.failed(failure("function_missing"), DATA_API_RAISE_INTERVAL_MS + 1)).not.toBeNull();
  });

  it("raises nothing for a failure that names no fault", () => {
    const watch = createDataApiWatch();
    expect(watch.failed(failure(undefined, "transient"), 0)).toBeNull();
    expect(watch.failed(failure(undefined, "permanent"), 0)).toBeNull();
    expect(watch.settled()).toEqual([]);
  });

  it("raises an unreachable database only after failures in a row, none settled between", () => {
    const watch = createDataApiWatch();
    const down = failure("unavailable", "transient");
    for (let i = 1; i < DATA_API_UNAVAILABLE_STREAK_MIN; i += 1) expect(watch.failed(down, i)).toBeNull();
    expect(watch.settled()).toEqual([]);
    for (let i = 1; i < DATA_API_UNAVAILABLE_STREAK_MIN; i += 1) expect(watch.failed(down, i)).toBeNull();
    expect(watch.failed(down, 10)?.key).toBe("data_api:unavailable");
    expect(watch.settled()).toEqual(["data_api:unavailable"]);
  });

  it("keeps a key whose resolve did not go through for the next settled delivery", () => {
    const watch = createDataApiWatch();
    watch.failed(failure("key_rejected"), 0);
    expect(watch.settled()).toEqual(["data_api:key_rejected"]);
    watch.unresolved("data_api:key_rejected", 5);
    expect(watch.settled()).toEqual(["data_api:key_rejected"]);
  });
});
