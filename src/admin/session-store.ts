/**
 * Where dashboard sessions live: one `AdminSessions` Durable Object per deployment, SQLite storage. A
 * Durable Object and not a database table so that signing in, signing out and every page's session
 * check keep working while the database is down (the runbook pages and the sales switch are what an
 * operator needs most then). Every request reads its session here, so signing out ends it at once.
 * Rows are keyed by the SHA-256 of the cookie's id (src/admin/session.ts); expired rows go at the next
 * sign-in, and each operator keeps at most SESSIONS_PER_ACTOR_MAX sessions (the oldest go first).
 */
import { DurableObject } from "cloudflare:workers";
import { err, ok, type Result } from "../ledger/result.ts";
import { log } from "../log.ts";
import { type SessionRecord, storageKeyOf } from "./session.ts";

/** Bounds storage, not people: one shared token (or a CI run) may hold many browsers at once. */
export const SESSIONS_PER_ACTOR_MAX = 500;
const STORE_NAME = "sessions";

type Row = { actor: string; fingerprint: string; expires_at_ms: number };

export class AdminSessions extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(
      `create table if not exists sessions (key text primary key, actor text not null,
        fingerprint text not null, expires_at_ms integer not null)`,
    );
  }

  start(key: string, record: SessionRecord, nowMs: number): void {
    const sql = this.ctx.storage.sql;
    sql.exec("delete from sessions where expires_at_ms <= ?", nowMs);
    sql.exec(
      "insert or replace into sessions (key, actor, fingerprint, expires_at_ms) values (?, ?, ?, ?)",
      key,
      record.actor,
      record.fingerprint,
      record.expiresAtMs,
    );
    sql.exec(
      `delete from sessions where actor = ?1 and key not in
        (select key from sessions where actor = ?1 order by expires_at_ms desc limit ?2)`,
      record.actor,
      SESSIONS_PER_ACTOR_MAX,
    );
  }

  find(key: string, nowMs: number): SessionRecord | null {
    const row = this.ctx.storage.sql
      .exec<Row>("select actor, fingerprint, expires_at_ms from sessions where key = ?", key)
      .toArray()[0];
    if (!row || row.expires_at_ms <= nowMs) return null;
    return { actor: row.actor, fingerprint: row.fingerprint, expiresAtMs: row.expires_at_ms };
  }

  end(key: string): void {
    this.ctx.storage.sql.exec("delete from sessions where key = ?", key);
  }
}

/** The session store as the dashboard uses it: by cookie id; an unreachable store is a value, not a throw. */
export interface SessionStore {
  start(id: string, record: SessionRecord, nowMs: number): Promise<Result<void, string>>;
  find(id: string, nowMs: number): Promise<Result<SessionRecord | null, string>>;
  end(id: string): Promise<Result<void, string>>;
}

export function createSessionStore(namespace: DurableObjectNamespace<AdminSessions>): SessionStore {
  const stub = () => namespace.get(namespace.idFromName(STORE_NAME));
  const attempt = async <T>(what: string, work: () => Promise<T>): Promise<Result<T, string>> => {
    try {
      return ok(await work());
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      log("error", "admin_session_store_failed", { what, detail });
      return err(detail);
    }
  };
  return {
    start: async (id, record, nowMs) => {
      const key = await storageKeyOf(id);
      return attempt("start", () => stub().start(key, record, nowMs));
    },
    find: async (id, nowMs) => {
      const key = await storageKeyOf(id);
      return attempt("find", () => stub().find(key, nowMs));
    },
    end: async (id) => {
      const key = await storageKeyOf(id);
      return attempt("end", () => stub().end(key));
    },
  };
}
