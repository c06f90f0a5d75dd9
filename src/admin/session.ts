/**
 * Dashboard sessions, the pure part: after a token login the browser holds a random session id (an
 * HttpOnly, Secure, SameSite=Strict cookie); the session itself lives server-side (src/admin/session-store.ts)
 * under the SHA-256 of that id, so what is stored cannot be replayed as a cookie. Everything bound to a
 * session is an HMAC keyed by its id: the CSRF token every form must echo (useless without the cookie,
 * and the cookie useless without it) and the signed flash line an action leaves for the page it goes back to.
 */
import { sha256Hex } from "../hex.ts";

export const SESSION_COOKIE = "payguard_admin";
export const SESSION_TTL_MS = 8 * 60 * 60 * 1000;
const SESSION_ID_BYTES = 32;

/** What the store keeps per session. `fingerprint`: hex of `tokenFingerprint` of the token used to sign in. */
export interface SessionRecord {
  actor: string;
  fingerprint: string;
  expiresAtMs: number;
}

/** A session as a request sees it: the id from its cookie and the stored record. */
export interface Session extends SessionRecord {
  id: string;
}

/** The outcome line an action leaves for the page it redirects to. */
export interface Flash {
  ok: boolean;
  text: string;
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

export const newSessionId = () => base64url(crypto.getRandomValues(new Uint8Array(SESSION_ID_BYTES)));

/** The id's bytes when the cookie holds a well-formed id, else null (nothing to look up). */
function idBytes(id: string): Uint8Array<ArrayBuffer> | null {
  const bytes = fromBase64url(id);
  return bytes && bytes.length === SESSION_ID_BYTES ? bytes : null;
}

export const isSessionId = (id: string | undefined): id is string => Boolean(id && idBytes(id));

/** Where the store keeps a session: hex SHA-256 of its id. */
export async function storageKeyOf(id: string): Promise<string> {
  return sha256Hex(id);
}

/** Only ever called with the id of a session the store found, so a malformed one is a bug. */
function keyOf(id: string): Promise<CryptoKey> {
  const raw = idBytes(id);
  if (!raw) throw new Error("malformed session id");
  return crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
}

async function mac(id: string, text: string): Promise<string> {
  return base64url(new Uint8Array(await crypto.subtle.sign("HMAC", await keyOf(id), encoder.encode(text))));
}

/** Constant-time check (WebCrypto recomputes and compares the HMAC). */
async function verifyMac(id: string, text: string, submitted: string): Promise<boolean> {
  const bytes = fromBase64url(submitted);
  if (!bytes) return false;
  return crypto.subtle.verify("HMAC", await keyOf(id), bytes, encoder.encode(text));
}

export const csrfToken = (session: Session) => mac(session.id, "csrf");

export const checkCsrf = (session: Session, submitted: string) => verifyMac(session.id, "csrf", submitted);

/** `payload.mac`: the flash for one page (`path`) of this session. */
export async function sealFlash(session: Session, path: string, flash: Flash): Promise<string> {
  const payload = base64url(encoder.encode(JSON.stringify({ p: path, o: flash.ok, t: flash.text })));
  return `${payload}.${await mac(session.id, `flash:${payload}`)}`;
}

/** The flash sealed for this session and this page, or null (forged, another session's, another page's). */
export async function openFlash(
  session: Session,
  path: string,
  sealed: string | undefined,
): Promise<Flash | null> {
  const [payload, signature, extra] = (sealed ?? "").split(".");
  if (!payload || !signature || extra !== undefined) return null;
  if (!(await verifyMac(session.id, `flash:${payload}`, signature))) return null;
  const bytes = fromBase64url(payload);
  const body = bytes
    ? (JSON.parse(new TextDecoder().decode(bytes)) as { p?: unknown; o?: unknown; t?: unknown })
    : null;
  if (!body || body.p !== path || typeof body.o !== "boolean" || typeof body.t !== "string") return null;
  return { ok: body.o, text: body.t };
}
