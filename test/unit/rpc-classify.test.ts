/**
 * The one table that decides what a Data API answer means for payguard: retried because it passes on its
 * own, retried because the installation is misconfigured (with the class whose incident names the fix),
 * or permanent (acknowledged). Statuses and codes as PostgREST and Supabase's gateway send them.
 */
import { describe, expect, it } from "vitest";
import { classifyFailure } from "../../src/db/rpc.ts";

describe("classifyFailure: every Data API answer → kind and class", () => {
  it.each([
    // [status, code, kind, fault]
    [0, "", "transient", "unavailable"], // no answer: network failure or the call's timeout
    [503, "PGRST000", "transient", "unavailable"], // PostgREST cannot connect to the database
    [503, "PGRST001", "transient", "unavailable"], // the connection broke mid-request
    [503, "PGRST002", "transient", "unavailable"], // no schema cache yet
    [503, "08006", "transient", "unavailable"], // connection failure
    [503, "57P01", "transient", "unavailable"], // admin shutdown
    [503, "53300", "transient", "unavailable"], // too many connections
    [504, "PGRST003", "transient", "unavailable"], // pool gave out no connection in time
    [502, "", "transient", "unavailable"], // the gateway found no upstream
    [500, "57014", "transient", undefined], // statement timeout: retried, no incident of its own
    [500, "40001", "transient", undefined], // serialization failure
    [500, "P0H01", "transient", undefined], // the app hook raised (its own incident)
    [429, "", "transient", undefined], // gateway rate limit
    [406, "PGRST106", "misconfigured", "schema_not_exposed"],
    [404, "PGRST202", "misconfigured", "function_missing"],
    [404, "42883", "misconfigured", "function_missing"],
    [404, "42P01", "misconfigured", "function_missing"], // a table the function needs is missing
    [300, "PGRST203", "misconfigured", "function_missing"], // two overloads after a partial upgrade
    [403, "42501", "misconfigured", "permission_denied"],
    [401, "42501", "misconfigured", "key_rejected"], // ran as anon: the key is not the secret key
    [401, "", "misconfigured", "key_rejected"], // the gateway's "Invalid API key"
    [401, "PGRST301", "misconfigured", "key_rejected"], // a legacy JWT key that no longer verifies
    [400, "P0001", "permanent", undefined], // a function's own refusal
    [409, "23505", "permanent", undefined],
    [400, "22P02", "permanent", undefined], // bad input
    [400, "PGRST102", "permanent", undefined], // malformed body
    [405, "25006", "permanent", undefined],
    [406, "PGRST107", "permanent", undefined], // media type: a bug, not the installation
  ] as const)("%i %s → %s %s", (status, code, kind, fault) => {
    expect(classifyFailure(status, code)).toEqual(fault ? { kind, fault } : { kind });
  });
});
