// admin_actions names who acted: a token name, or `slack:<operator>` for a Slack button
// (20261206002400_payguard_slack_actor.sql). Anything else is still refused by the table.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LedgerDb, ledgerBackends } from "../support/node/ledger-db.ts";

const AT = "2026-12-06T12:00:00.000Z";

describe.each(ledgerBackends("slack actor"))("admin_actions actors on %s", (_name, open) => {
  let ledger: LedgerDb;
  beforeAll(async () => {
    ledger = await open();
  });
  afterAll(() => ledger.close());

  const record = (actor: string) =>
    ledger.call<number>("record_admin_action", {
      p_actor: actor,
      p_action: "incident_acknowledge",
      p_order_id: null,
      p_target: "unknown_order:stripe:evt_1",
      p_reason: "Slack: acknowledge by alice (U0ALICE01)",
      p_outcome: "acknowledged",
      p_detail: {},
      p_now: AT,
    });

  it("records a Slack button's operator as slack:<name>, and token names as before", async () => {
    expect(Number(await record("slack:alice"))).toBeGreaterThan(0);
    expect(Number(await record("ci"))).toBeGreaterThan(0);
    const rows = await ledger.db.query<{ actor: string }>(
      "select actor from payguard.admin_actions where target = 'unknown_order:stripe:evt_1' order by id",
    );
    expect(rows.rows.map((row) => row.actor)).toEqual(["slack:alice", "ci"]);
  });

  it("refuses any other prefix or shape", async () => {
    for (const actor of ["teams:alice", "slack:", "slack:a:b", "slack:al ice", ":alice"])
      await expect(record(actor), actor).rejects.toThrow(/admin_actions_actor_check/);
  });
});
