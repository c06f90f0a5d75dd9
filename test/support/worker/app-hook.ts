/**
 * An app hook for tests, installed in the stand-in's database: it keeps points for the users a test
 * registers in payguard_app.hook_users (other test files share the database) and raises for the ones
 * marked broken, so their settlements roll back with P0H01 until the mark is lifted.
 */
import { sql } from "./harness.ts";

const HOOK_SQL = [
  "create schema if not exists payguard_app",
  `create table if not exists payguard_app.hook_users (
    user_id uuid primary key, points integer not null default 0, broken boolean not null default false)`,
  `create or replace function payguard_app.on_settled(change jsonb) returns void language plpgsql as $$
  declare is_broken boolean;
  begin
    update payguard_app.hook_users set points = points + (change ->> 'credits_delta')::integer
     where user_id = (change ->> 'user_id')::uuid returning broken into is_broken;
    if is_broken then raise exception 'the app refuses this change'; end if;
  end $$`,
];

export async function installTestAppHook(): Promise<void> {
  for (const statement of HOOK_SQL) await sql(statement);
}

export const removeTestAppHook = () => sql("drop function payguard_app.on_settled(jsonb)");
