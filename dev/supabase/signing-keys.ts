/**
 * The stand-in's Supabase Auth signing keys: an ES256 and an RS256 key published as a JWKS at
 * `/auth/v1/.well-known/jwks.json`, like a project using asymmetric JWT signing keys. Rotation adds a
 * fresh pair with new `kid`s and keeps the old public keys published (Supabase keeps a previously used
 * key verifiable until it is revoked). User tokens carry the claims Supabase Auth puts in an access
 * token; legacy HS256 tokens are signed with the project's JWT secret.
 */
import { randomUUID } from "node:crypto";
import {
  exportJWK,
  generateKeyPair,
  type JSONWebKeySet,
  type JWK,
  type JWTPayload,
  jwtVerify,
  SignJWT,
} from "jose";

export type UserTokenAlg = "ES256" | "RS256" | "HS256";

export interface UserTokenOptions {
  /** ES256 (default) and RS256 are signed with the current JWKS keys, HS256 with the legacy secret. */
  alg?: UserTokenAlg;
  /** Lifetime in seconds from now (negative for an already expired token); default one hour. */
  expiresInS?: number;
  /** Claims that override the standard ones (e.g. `iss`, `aud`, `role`). */
  claims?: Record<string, unknown>;
}

/** Supabase Auth's default access-token lifetime. */
export const USER_TOKEN_LIFETIME_DEFAULT_S = 3600;

interface SigningKey {
  kid: string;
  alg: "ES256" | "RS256";
  privateKey: CryptoKey;
  publicJwk: JWK;
}

async function newKey(alg: "ES256" | "RS256"): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const kid = randomUUID();
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: "sig", key_ops: ["verify"] };
  return { kid, alg, privateKey, publicJwk };
}

export interface SigningKeys {
  jwks(): JSONWebKeySet;
  /** Replaces the signing pair; the previous public keys stay in the JWKS. Returns the new kids. */
  rotate(): Promise<{ ES256: string; RS256: string }>;
  userToken(issuer: string, userId: string, options?: UserTokenOptions): Promise<string>;
  /** Claims of a valid token signed by any published key or the legacy secret; null otherwise. */
  verify(token: string): Promise<JWTPayload | null>;
}

export async function createSigningKeys(legacySecret: string): Promise<SigningKeys> {
  const published: SigningKey[] = [];
  let current = { ES256: await newKey("ES256"), RS256: await newKey("RS256") };
  published.push(current.ES256, current.RS256);
  const secret = new TextEncoder().encode(legacySecret);
  const jwks = (): JSONWebKeySet => ({ keys: published.map((key) => key.publicJwk) });

  return {
    jwks,
    async rotate() {
      current = { ES256: await newKey("ES256"), RS256: await newKey("RS256") };
      published.unshift(current.ES256, current.RS256);
      return { ES256: current.ES256.kid, RS256: current.RS256.kid };
    },
    async userToken(issuer, userId, options = {}) {
      const alg = options.alg ?? "ES256";
      const nowS = Math.floor(Date.now() / 1000);
      const payload = {
        iss: issuer,
        sub: userId,
        aud: "authenticated",
        role: "authenticated",
        iat: nowS,
        exp: nowS + (options.expiresInS ?? USER_TOKEN_LIFETIME_DEFAULT_S),
        aal: "aal1",
        amr: [{ method: "password", timestamp: nowS }],
        session_id: randomUUID(),
        is_anonymous: false,
        app_metadata: { provider: "email", providers: ["email"] },
        user_metadata: {},
        ...options.claims,
      };
      if (alg === "HS256") {
        return new SignJWT(payload).setProtectedHeader({ alg, typ: "JWT" }).sign(secret);
      }
      const key = current[alg];
      return new SignJWT(payload).setProtectedHeader({ alg, kid: key.kid, typ: "JWT" }).sign(key.privateKey);
    },
    async verify(token) {
      const keys = async (header: { alg?: string; kid?: string }) => {
        if (header.alg === "HS256") return secret;
        const key = published.find((candidate) => candidate.kid === header.kid);
        if (!key) throw new Error("unknown kid");
        return key.publicJwk;
      };
      try {
        return (await jwtVerify(token, keys, { algorithms: ["ES256", "RS256", "HS256"] })).payload;
      } catch {
        return null;
      }
    },
  };
}
