import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  checkCsrf,
  csrfToken,
  isSessionId,
  newSessionId,
  openFlash,
  type Session,
  sealFlash,
  storageKeyOf,
} from "../../../src/admin/session.ts";
import {
  adminTokens,
  identify,
  identifyToken,
  parseAdminTokenList,
  tokenStillConfigured,
} from "../../../src/admin/tokens.ts";

const hex = (token: string) => createHash("sha256").update(token).digest("hex");

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

describe("dashboard session", () => {
  const session = (actor = "alice"): Session => ({
    id: newSessionId(),
    actor,
    fingerprint: "00",
    expiresAtMs: Date.UTC(2026, 10, 22, 20),
  });

  it("accepts only well-formed ids, stored under their hash", async () => {
    const id = newSessionId();
    expect(isSessionId(id)).toBe(true);
    expect(isSessionId(`${id}x`)).toBe(false);
    expect(isSessionId(id.slice(0, -1))).toBe(false);
    expect(isSessionId(undefined)).toBe(false);
    expect(await storageKeyOf(id)).toBe(createHash("sha256").update(id).digest("hex"));
  });

  it("binds the CSRF token to the session", async () => {
    const one = session();
    const two = session();
    const token = await csrfToken(one);
    expect(await checkCsrf(one, token)).toBe(true);
    expect(await checkCsrf(two, token)).toBe(false);
    expect(await checkCsrf(one, "")).toBe(false);
  });

  it("opens a flash only for its session and its page, and refuses a changed one", async () => {
    const one = session();
    const sealed = await sealFlash(one, "/admin/orders/ord_1", { ok: true, text: "fulfilled" });
    expect(await openFlash(one, "/admin/orders/ord_1", sealed)).toEqual({ ok: true, text: "fulfilled" });
    expect(await openFlash(one, "/admin/orders/ord_2", sealed)).toBeNull();
    expect(await openFlash(session(), "/admin/orders/ord_1", sealed)).toBeNull();
    const [, signature] = sealed.split(".");
    const forged = Buffer.from(JSON.stringify({ p: "/admin/orders/ord_1", o: true, t: "<b>x</b>" })).toString(
      "base64url",
    );
    expect(await openFlash(one, "/admin/orders/ord_1", `${forged}.${signature}`)).toBeNull();
    expect(await openFlash(one, "/admin/orders/ord_1", undefined)).toBeNull();
  });

  it("stays valid only while its name keeps the token it signed in with", async () => {
    const env = (list: string) => ({ ADMIN_TOKENS: list });
    const before = await adminTokens(env(`alice:${hex("alice-token-0123456789")}`));
    const entry = await identifyToken(before, "alice-token-0123456789");
    if (!entry) throw new Error("alice not identified");
    expect(tokenStillConfigured(before, "alice", entry.fingerprint)).toBe(true);
    expect(tokenStillConfigured(before, "bob", entry.fingerprint)).toBe(false);
    const changed = await adminTokens(env(`alice:${hex("alice-token-new-0123456789")}`));
    expect(tokenStillConfigured(changed, "alice", entry.fingerprint)).toBe(false);
    const renamed = await adminTokens(env(`bob:${hex("alice-token-0123456789")}`));
    expect(tokenStillConfigured(renamed, "alice", entry.fingerprint)).toBe(false);
    expect(tokenStillConfigured(await adminTokens(env("")), "alice", entry.fingerprint)).toBe(false);
  });
});
