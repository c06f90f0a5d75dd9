/**
 * CORS on the app-facing API, in workerd: only the origins in APP_ORIGINS (here https://app.example.test)
 * may call `/api/*` from a browser; webhooks and the console never answer cross-origin.
 */
import { describe, expect, it } from "vitest";
import { userToken } from "../support/worker/auth.ts";
import { call } from "../support/worker/harness.ts";

const APP = "https://app.example.test";

const preflight = (path: string, origin: string) =>
  call(path, {
    method: "OPTIONS",
    headers: {
      origin,
      "access-control-request-method": "POST",
      "access-control-request-headers": "authorization, content-type, idempotency-key",
    },
  });

describe("CORS on /api/*", () => {
  it("a listed origin's preflight names the method and headers checkout needs", async () => {
    const response = await preflight("/api/checkout", APP);
    expect(response.status).toBe(204);
    expect(response.headers.get("access-control-allow-origin")).toBe(APP);
    expect(response.headers.get("access-control-allow-methods")).toContain("POST");
    expect(response.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("idempotency-key");
    expect(response.headers.get("access-control-allow-credentials")).toBeNull();
  });

  it("a listed origin may read an answer; any other origin is not allowed to", async () => {
    const listed = await call("/api/packages", { headers: { origin: APP } });
    expect(listed.status).toBe(200);
    expect(listed.headers.get("access-control-allow-origin")).toBe(APP);
    for (const origin of ["https://evil.example", "https://app.example.test.evil.example", "null"]) {
      const other = await call("/api/packages", { headers: { origin } });
      expect(other.headers.get("access-control-allow-origin")).toBeNull();
      expect(
        (await preflight("/api/checkout", origin)).headers.get("access-control-allow-origin"),
      ).toBeNull();
    }
  });

  it("an authenticated order lookup works cross-origin for the app (404 for an unknown order, still readable)", async () => {
    const response = await call(`/api/orders/${crypto.randomUUID()}`, {
      headers: { origin: APP, authorization: `Bearer ${await userToken(crypto.randomUUID())}` },
    });
    expect(response.status).toBe(404);
    expect(response.headers.get("access-control-allow-origin")).toBe(APP);
  });

  it("webhooks, /health and the console never answer cross-origin", async () => {
    for (const path of ["/webhooks/stripe", "/health", "/admin/api/overview"]) {
      const response = await preflight(path, APP);
      expect(response.headers.get("access-control-allow-origin")).toBeNull();
    }
  });
});
