import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { generateKeyPair, SignJWT } from "jose";
import { beforeAll, describe, expect, inject, it } from "vitest";
import worker from "../../src/index.ts";
import { rotateSigningKeys, userHeaders, userToken } from "../support/worker/auth.ts";
import { BASE_URL, call, sandbox, seedPackage } from "../support/worker/harness.ts";
import { createWechatOrder } from "../support/worker/wechat.ts";

beforeAll(seedPackage);

const getOrder = (orderId: string, headers: Record<string, string> = {}) =>
  call(`/api/orders/${orderId}`, { headers });

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

const UNAUTHORIZED = { error: "unauthorized", message: "unauthorized" };

async function expectRefused(orderId: string, headers: Record<string, string>) {
  const response = await getOrder(orderId, headers);
  expect(response.status).toBe(401);
  expect(await response.json()).toEqual(UNAUTHORIZED);
}

/** WeChat queries payguard made for this order (the sandbox logs every API call it answers). */
async function wechatQueries(orderId: string): Promise<number> {
  const { calls } = await sandbox<{ calls: Array<{ path: string }> }>("calls");
  return calls.filter((c) => c.path.includes(orderId)).length;
}

const b64 = (value: unknown) =>
  btoa(JSON.stringify(value)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");

describe("user access tokens on GET /api/orders/:id", () => {
  let user: string;
  let orderId: string;

  beforeAll(async () => {
    user = crypto.randomUUID();
    orderId = await createWechatOrder(user);
  });

  it("accepts a key rotated in after the JWKS was cached (unknown kid → one re-read)", async () => {
    expect((await getOrder(orderId, await userHeaders(user))).status).toBe(200);
    const kids = await rotateSigningKeys();
    const token = await userToken(user);
    expect(JSON.parse(atob(token.split(".")[0] ?? "")).kid).toBe(kids.ES256);
    expect((await getOrder(orderId, bearer(token))).status).toBe(200);
  });

  it.each(["ES256", "RS256"] as const)(
    "answers the owner with a valid %s token from the JWKS",
    async (alg) => {
      const response = await getOrder(orderId, await userHeaders(user, { alg }));
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ id: orderId, status: "pending" });
    },
  );

  it("refuses an expired token", async () => {
    await expectRefused(orderId, await userHeaders(user, { expiresInS: -60 }));
  });

  it.each([
    ["iss", { iss: "https://other-project.supabase.co/auth/v1" }],
    ["aud", { aud: "other" }],
    ["role", { role: "anon" }],
  ])("refuses a token with the wrong %s", async (_claim, claims) => {
    await expectRefused(orderId, await userHeaders(user, { claims }));
  });

  it("refuses alg none, a missing token and a malformed one", async () => {
    const valid = JSON.parse(atob((await userToken(user)).split(".")[1] ?? "")) as Record<string, unknown>;
    await expectRefused(orderId, bearer(`${b64({ alg: "none", typ: "JWT" })}.${b64(valid)}.`));
    await expectRefused(orderId, {});
    await expectRefused(orderId, bearer("not-a-jwt"));
    await expectRefused(orderId, { authorization: "Basic dXNlcjpwYXNz" });
  });

  it("refuses a token signed by a key outside the JWKS, even when it names a published kid", async () => {
    const published = JSON.parse(atob((await userToken(user)).split(".")[0] ?? "")) as { kid: string };
    const { privateKey } = await generateKeyPair("ES256");
    const claims = JSON.parse(atob((await userToken(user)).split(".")[1] ?? "")) as Record<string, unknown>;
    const forged = await new SignJWT(claims)
      .setProtectedHeader({ alg: "ES256", kid: published.kid })
      .sign(privateKey);
    await expectRefused(orderId, bearer(forged));
  });

  it("refuses HS256 while the legacy secret is not configured, and accepts it when it is", async () => {
    const hs256 = await userHeaders(user, { alg: "HS256" });
    await expectRefused(orderId, hs256);
    const withFallback = { ...env, SUPABASE_JWT_SECRET: inject("standIn").jwtSecret };
    const request = new Request(`${BASE_URL}/api/orders/${orderId}`, { headers: hs256 });
    const response = await worker.fetch(request, withFallback, createExecutionContext());
    expect(response.status).toBe(200);
  });

  it("answers another user's order with the same 404 as an unknown one", async () => {
    const other = await getOrder(orderId, await userHeaders(crypto.randomUUID()));
    const unknown = await getOrder("ord_unknown_000000", await userHeaders(user));
    expect(other.status).toBe(404);
    expect(unknown.status).toBe(404);
    expect(await other.json()).toEqual(await unknown.json());
  });

  it("makes no provider call for an unauthenticated request", async () => {
    const fresh = await createWechatOrder(user);
    for (let i = 0; i < 5; i++) await expectRefused(fresh, {});
    await expectRefused(fresh, await userHeaders(user, { expiresInS: -1 }));
    expect(await wechatQueries(fresh)).toBe(0);
    expect((await getOrder(fresh, await userHeaders(user))).status).toBe(200);
    expect(await wechatQueries(fresh)).toBe(1);
  });
});
