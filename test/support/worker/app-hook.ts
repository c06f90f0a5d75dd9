/**
 * An app hook for tests, installed in the stand-in's database: it keeps points for the users a test
 * registers in payguard_app.hook_users (other test files share the database), raises for the ones
 * marked broken, so their settlements roll back with P0H01 until the mark is lifted, and takes
 * `delay_ms` for the ones marked slow, so their settlement commits after the worker stopped waiting.
 */
import { sql } from "./harness.ts";

const HOOK_SQL = [
  "create schema if not exists payguard_app",
  `create table if not exists payguard_app.hook_users (
    user_id uuid primary key, points integer not null default 0, broken boolean not null default false)`,
  "alter table payguard_app.hook_users add column if not exists delay_ms integer not null default 0",
  `create or replace function payguard_app.on_settled(change jsonb) returns void language plpgsql as $$
  declare is_broken boolean; slow_ms integer;
  begin
    update payguard_app.hook_users set points = points + (change ->> 'credits_delta')::integer
     where user_id = (change ->> 'user_id')::uuid returning broken, delay_ms into is_broken, slow_ms;
    if slow_ms > 0 then perform pg_sleep(slow_ms / 1000.0); end if;
    if is_broken then raise exception 'the app refuses this change'; end if;
  end $$`,
];

export async function installTestAppHook(): Promise<void> {
  for (const statement of HOOK_SQL) await sql(statement);
}

export const removeTestAppHook = () => sql("drop function payguard_app.on_settled(jsonb)");
