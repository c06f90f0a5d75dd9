/**
 * Bad input is answered as bad input on every route that takes a body: malformed JSON, JSON sent as
 * something else, and wrongly typed JSON are 400 naming the problem (`invalid_json`, or `bad_request` with
 * the offending field's path), nothing is written and no stack trace is logged. The public checkout and
 * every admin API route with a body, through one table; the console's forms answer a body that is not a
 * form (JSON, a broken multipart) with their 400 page. The operator here has a token of their own, so
 * "nothing written" is exact while other suites write beside this one.
 */
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { userToken } from "../support/worker/auth.ts";
import { ORIGIN, send, signIn } from "../support/worker/console.ts";
import { seedPackage, sql } from "../support/worker/harness.ts";
import { createOrder } from "../support/worker/stripe.ts";

const OPERATOR = "badinput";
const OPERATOR_TOKEN = "bad-input-operator-token-0123456789";
const REASON = "checking that bad input changes nothing";

interface Case {
  name: string;
  contentType: string;
  body: string;
  error: "invalid_json" | "bad_request";
  /** The issue path the answer must name (wrongly typed JSON only). */
  path?: string;
}

const JSON_TYPE = "application/json";
const CASES: Case[] = [
  { name: "malformed JSON", contentType: JSON_TYPE, body: '{"reason": ', error: "invalid_json" },
  {
    name: "JSON sent as text",
    contentType: "text/plain",
    body: `{"reason":"${REASON}"}`,
    error: "invalid_json",
  },
  { name: "a JSON array", contentType: JSON_TYPE, body: "[]", error: "bad_request", path: "" },
  {
    name: "a number for the reason",
    contentType: JSON_TYPE,
    body: '{"reason":42}',
    error: "bad_request",
    path: "reason",
  },
];

const CHECKOUT_CASES: Case[] = [
  ...CASES.slice(0, 3),
  {
    name: "a number for the package",
    contentType: JSON_TYPE,
    body: '{"packageId":42,"provider":"stripe"}',
    error: "bad_request",
    path: "packageId",
  },
];

const adminRoutes = (orderId: string) => [
  "/admin/api/orders/sync",
  `/admin/api/orders/${orderId}/sync`,
  `/admin/api/orders/${orderId}/repair`,
  `/admin/api/orders/${orderId}/expire`,
  `/admin/api/orders/${orderId}/refund`,
  `/admin/api/orders/${orderId}/resolve-review`,
  "/admin/api/stripe/events/evt_bad_input_1/replay",
  "/admin/api/jobs/reconcile/run",
  "/admin/api/doctor",
  "/admin/api/repair",
  "/admin/api/inbox/replay",
  "/admin/api/sales/pause",
  "/admin/api/sales/resume",
  "/admin/api/incidents/acknowledge",
  "/admin/api/incidents/mute",
  "/admin/api/incidents/resolve",
];

let bindings: Env;
let orderId: string;
const buyer = crypto.randomUUID();

const hex = (bytes: ArrayBuffer) =>
  Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");

beforeAll(async () => {
  await seedPackage();
  const hash = hex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(OPERATOR_TOKEN)));
  const { ADMIN_TOKENS } = inject("workerBindings");
  const tokens: Record<string, string> = { ADMIN_TOKENS: `${ADMIN_TOKENS},${OPERATOR}:${hash}` };
  bindings = { ...env, ...tokens };
  orderId = await createOrder(crypto.randomUUID());
});

const errorLogs = vi.spyOn(console, "error");
afterEach(() => {
  const unhandled = errorLogs.mock.calls
    .map(([line]) => String(line))
    .filter((line) => line.includes("unhandled_error"));
  expect(unhandled).toEqual([]);
});

async function expectRefused(response: Response, expected: Case, where: string) {
  expect(response.status, where).toBe(400);
  const answer = (await response.json()) as { error: string; issues?: Array<{ path: string }> };
  expect(answer.error, where).toBe(expected.error);
  if (expected.path !== undefined)
    expect(
      answer.issues?.map((issue) => issue.path),
      where,
    ).toContain(expected.path);
}

const count = async (query: string, params: unknown[]) =>
  (await sql<{ n: number }>(`select count(*)::int as n from ${query}`, params))[0]?.n;

describe("a body that is not what the route takes: 400 naming the problem, nothing written", () => {
  it("POST /api/checkout", async () => {
    const authorization = `Bearer ${await userToken(buyer)}`;
    for (const entry of CHECKOUT_CASES) {
      const response = await send(
        "/api/checkout",
        { method: "POST", headers: { authorization, "content-type": entry.contentType }, body: entry.body },
        bindings,
      );
      await expectRefused(response, entry, `checkout: ${entry.name}`);
    }
    expect(await count("payguard.payment_orders where user_id = $1::uuid", [buyer])).toBe(0);
  });

  it("every admin API route with a body", async () => {
    const eventsBefore = await count("payguard.order_events where order_id = $1", [orderId]);
    const authorization = `Bearer ${OPERATOR_TOKEN}`;
    for (const path of adminRoutes(orderId)) {
      for (const entry of CASES) {
        const response = await send(
          path,
          { method: "POST", headers: { authorization, "content-type": entry.contentType }, body: entry.body },
          bindings,
        );
        await expectRefused(response, entry, `${path}: ${entry.name}`);
      }
    }
    expect(await count("payguard.admin_actions where actor = $1", [OPERATOR])).toBe(0);
    expect(await count("payguard.order_events where order_id = $1", [orderId])).toBe(eventsBefore);
    // The same operator's valid request is recorded: the count above would have seen a bad one acted on.
    const valid = await send(
      "/admin/api/sales/resume",
      {
        method: "POST",
        headers: { authorization, "content-type": JSON_TYPE },
        body: JSON.stringify({ reason: REASON, scope: "credits_100" }),
      },
      bindings,
    );
    expect(valid.status).toBe(200);
    expect(await count("payguard.admin_actions where actor = $1", [OPERATOR])).toBe(1);
  });

  it("the console's forms and sign-in: a JSON or broken multipart body is the 400 page", async () => {
    const { cookie } = await signIn("10.25.0.1");
    const scope = "bad_input_scope";
    const bodies = [
      { contentType: JSON_TYPE, body: JSON.stringify({ scope, reason: REASON, confirm: "1" }) },
      { contentType: "multipart/form-data; boundary=x", body: "not a multipart body" },
    ];
    for (const { contentType, body } of bodies) {
      const headers = { cookie, origin: ORIGIN, "content-type": contentType };
      const paused = await send("/admin/sales/pause", { method: "POST", headers, body });
      expect(paused.status, contentType).toBe(400);
      expect(await paused.text()).toContain("not a form this page can read");
      const login = await send("/admin/login", {
        method: "POST",
        headers: { origin: ORIGIN, "content-type": contentType, "cf-connecting-ip": "10.25.0.2" },
        body,
      });
      expect(login.status, contentType).toBe(400);
      expect(login.headers.get("set-cookie") ?? "").not.toContain("payguard_admin=");
    }
    expect(await count("payguard.sales_pauses where scope = $1", [scope])).toBe(0);
  });
});
