import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  checkCsrf,
  csrfToken,
  issueSession,
  readSession,
  SESSION_TTL_MS,
} from "../../../src/admin/session.ts";
import { adminTokens, identify, parseAdminTokenList } from "../../../src/admin/tokens.ts";

const hex = (token: string) => createHash("sha256").update(token).digest("hex");
const SECRET = "session-secret-0123456789abcdef";

describe("named admin tokens", () => {
  it("names the caller from ADMIN_TOKENS hashes, and ADMIN_TOKEN as admin", async () => {
    const tokens = await adminTokens({
      ADMIN_TOKENS: `alice:${hex("alice-token-0123456789")}, ci:${hex("ci-token-0123456789")}`,
      ADMIN_TOKEN: "legacy-token-0123456789abcdef",
    });
    expect(await identify(tokens, "alice-token-0123456789")).toBe("alice");
    expect(await identify(tokens, "ci-token-0123456789")).toBe("ci");
    expect(await identify(tokens, "legacy-token-0123456789abcdef")).toBe("admin");
    expect(await identify(tokens, "alice-token-012345678")).toBeNull();
    expect(await identify(tokens, "")).toBeNull();
  });

  it("refuses malformed or duplicated entries", () => {
    expect(parseAdminTokenList("alice:nothex").ok).toBe(false);
    expect(parseAdminTokenList(`bad name:${hex("x")}`).ok).toBe(false);
    expect(parseAdminTokenList(`a:${hex("x")},a:${hex("y")}`).ok).toBe(false);
    expect(parseAdminTokenList("").ok).toBe(true);
  });
});

describe("dashboard session cookie", () => {
  const NOW = Date.UTC(2026, 10, 22, 12);

  it("reads back what it issued until it expires", async () => {
    const cookie = await issueSession(SECRET, "alice", NOW);
    expect(await readSession(SECRET, cookie, NOW + 1000)).toMatchObject({ actor: "alice" });
    expect(await readSession(SECRET, cookie, NOW + SESSION_TTL_MS)).toBeNull();
  });

  it("rejects a cookie signed with another secret or with its payload changed", async () => {
    const cookie = await issueSession(SECRET, "alice", NOW);
    expect(await readSession("another-secret-0123456789abcdef", cookie, NOW)).toBeNull();
    const [payload, signature] = cookie.split(".");
    const forged = Buffer.from(JSON.stringify({ a: "mallory", e: NOW + 1e9, n: "x" })).toString("base64url");
    expect(await readSession(SECRET, `${forged}.${signature}`, NOW)).toBeNull();
    expect(await readSession(SECRET, `${payload}`, NOW)).toBeNull();
    // The last character of a 32-byte signature carries 2 unused bits: another spelling is refused too.
    const last = signature?.at(-1) ?? "";
    const respelled = `${signature?.slice(0, -1)}${String.fromCharCode(last.charCodeAt(0) ^ 1)}`;
    expect(await readSession(SECRET, `${payload}.${respelled}`, NOW)).toBeNull();
  });

  it("binds the CSRF token to the session", async () => {
    const one = await readSession(SECRET, await issueSession(SECRET, "alice", NOW), NOW);
    const two = await readSession(SECRET, await issueSession(SECRET, "alice", NOW), NOW);
    if (!one || !two) throw new Error("sessions not read back");
    const token = await csrfToken(SECRET, one);
    expect(await checkCsrf(SECRET, one, token)).toBe(true);
    expect(await checkCsrf(SECRET, two, token)).toBe(false);
    expect(await checkCsrf(SECRET, one, "")).toBe(false);
  });
});
