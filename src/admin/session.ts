/**
 * Dashboard sessions: after a token login the browser holds a signed, expiring cookie (HttpOnly, Secure,
 * SameSite=Strict) naming the actor. Each session carries a random nonce; the CSRF token every form
 * must echo is an HMAC of that nonce, so it is useless without the cookie and the cookie without it.
 * The signing key is derived from ADMIN_TOKEN: rotating it signs everyone out.
 */

export const SESSION_COOKIE = "payguard_admin";
export const SESSION_TTL_MS = 8 * 60 * 60 * 1000;
const SESSION_NONCE_BYTES = 16;

export interface Session {
  actor: string;
  expiresAtMs: number;
  nonce: string;
}

const encoder = new TextEncoder();

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Canonical base64url only: unused trailing bits must be zero, so each value has one spelling. */
function fromBase64url(text: string): Uint8Array<ArrayBuffer> | null {
  try {
    const bytes = Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/")), (char) =>
      char.charCodeAt(0),
    );
    return base64url(bytes) === text ? bytes : null;
  } catch {
    return null;
  }
}

const keys = new Map<string, Promise<CryptoKey>>();

/** HMAC key for sessions, derived from the admin secret with a purpose label. */
function sessionKey(secret: string): Promise<CryptoKey> {
  const cached = keys.get(secret);
  if (cached) return cached;
  const derived = (async () => {
    const base = await crypto.subtle.importKey(
      "raw",
      encoder.encode(secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    const raw = await crypto.subtle.sign("HMAC", base, encoder.encode("payguard admin session v1"));
    return crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
  })();
  keys.set(secret, derived);
  return derived;
}

async function mac(secret: string, text: string): Promise<string> {
  const key = await sessionKey(secret);
  return base64url(new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(text))));
}

export async function issueSession(secret: string, actor: string, nowMs: number): Promise<string> {
  const nonce = base64url(crypto.getRandomValues(new Uint8Array(SESSION_NONCE_BYTES)));
  const payload = base64url(
    encoder.encode(JSON.stringify({ a: actor, e: nowMs + SESSION_TTL_MS, n: nonce })),
  );
  return `${payload}.${await mac(secret, payload)}`;
}

export async function readSession(
  secret: string,
  cookie: string | undefined,
  nowMs: number,
): Promise<Session | null> {
  const [payload, signature, extra] = (cookie ?? "").split(".");
  if (!payload || !signature || extra !== undefined) return null;
  const key = await sessionKey(secret);
  const signatureBytes = fromBase64url(signature);
  if (!signatureBytes) return null;
  const valid = await crypto.subtle.verify("HMAC", key, signatureBytes, encoder.encode(payload));
  if (!valid) return null;
  const bytes = fromBase64url(payload);
  const body = bytes
    ? (JSON.parse(new TextDecoder().decode(bytes)) as { a?: unknown; e?: unknown; n?: unknown })
    : null;
  if (!body || typeof body.a !== "string" || typeof body.e !== "number" || typeof body.n !== "string")
    return null;
  if (body.e <= nowMs) return null;
  return { actor: body.a, expiresAtMs: body.e, nonce: body.n };
}

export function csrfToken(secret: string, session: Session): Promise<string> {
  return mac(secret, `csrf:${session.nonce}`);
}

/** Constant-time check of a submitted CSRF token (the HMAC is recomputed and verified by WebCrypto). */
export async function checkCsrf(secret: string, session: Session, submitted: string): Promise<boolean> {
  const bytes = fromBase64url(submitted);
  if (!bytes) return false;
  const key = await sessionKey(secret);
  return crypto.subtle.verify("HMAC", key, bytes, encoder.encode(`csrf:${session.nonce}`));
}
