import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, type JWK, jwtVerify, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createJwksCache,
  JWKS_CACHE_TTL_MS,
  JWKS_UNKNOWN_KID_REFETCH_COOLDOWN_MS,
} from "../../src/auth/jwks.ts";

/** A JWKS endpoint whose keys the test swaps, counting how often it is read. */
let server: Server;
let url: string;
let keys: JWK[] = [];
let reads = 0;
let down = false;

async function newKey(kid: string) {
  const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: "ES256" } };
}

beforeAll(async () => {
  server = createServer((_request, response) => {
    reads += 1;
    if (down) return void response.writeHead(503).end();
    response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/auth/v1/.well-known/jwks.json`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

describe("JWKS cache", () => {
  it("reads once per TTL, early for an unknown kid at most once per cooldown, and keeps a stale set when the endpoint fails", async () => {
    const a = await newKey("kid-a");
    const b = await newKey("kid-b");
    keys = [a.jwk];
    reads = 0;
    const cache = createJwksCache(url);
    const t0 = 1_000_000;
    expect(await cache.keySetFor("kid-a", t0)).not.toBeNull();
    expect(await cache.keySetFor("kid-a", t0 + 1000)).not.toBeNull();
    expect(reads).toBe(1);

    keys = [b.jwk, a.jwk]; // kid-b rotated in
    const set = await cache.keySetFor("kid-b", t0 + 2000);
    expect(reads).toBe(2);
    const token = await new SignJWT({ sub: "u" })
      .setProtectedHeader({ alg: "ES256", kid: "kid-b" })
      .sign(b.privateKey);
    await expect(jwtVerify(token, set as NonNullable<typeof set>)).resolves.toBeTruthy();

    await cache.keySetFor("kid-made-up-1", t0 + 3000);
    expect(reads).toBe(2); // inside the cooldown that the kid-b read started
    await cache.keySetFor("kid-made-up-2", t0 + 2000 + JWKS_UNKNOWN_KID_REFETCH_COOLDOWN_MS);
    expect(reads).toBe(3);
    await cache.keySetFor("kid-made-up-3", t0 + 3000 + JWKS_UNKNOWN_KID_REFETCH_COOLDOWN_MS);
    expect(reads).toBe(3);

    down = true;
    const stale = await cache.keySetFor(
      "kid-b",
      t0 + 2000 + JWKS_UNKNOWN_KID_REFETCH_COOLDOWN_MS + JWKS_CACHE_TTL_MS,
    );
    expect(reads).toBe(4);
    expect(stale).not.toBeNull();
    down = false;
  });

  it("has nothing to offer when the first read fails", async () => {
    down = true;
    expect(await createJwksCache(url).keySetFor("kid-a", 0)).toBeNull();
    down = false;
  });
});
