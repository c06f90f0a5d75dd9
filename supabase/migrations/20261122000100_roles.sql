-- Roles and auth.uid() as Supabase provides them, created only where missing so the same migrations run
-- unchanged on Supabase, plain Postgres 15+ and PGlite. Roles are cluster-wide and test databases are
-- created concurrently, so a role created by someone else in the meantime is not an error.
do $$
begin
  create role anon nologin noinherit;
exception when duplicate_object or unique_violation then null;
end $$;

do $$
begin
  create role authenticated nologin noinherit;
exception when duplicate_object or unique_violation then null;
end $$;

do $$
begin
  create role service_role nologin noinherit bypassrls;
exception when duplicate_object or unique_violation then null;
end $$;

-- Everything payguard owns lives in its own schema, so it can never collide with (or silently share
-- names with) the app's tables and functions in public. The Data API must expose it (docs/supabase.md).
create schema if not exists payguard;
grant usage on schema payguard to anon, authenticated, service_role;
-- Functions created here later are not executable by PUBLIC unless a migration grants them.
alter default privileges in schema payguard revoke execute on functions from public;

do $$
begin
  if not exists (select 1 from pg_catalog.pg_namespace where nspname = 'auth') then
    create schema auth;
    grant usage on schema auth to anon, authenticated, service_role;
    -- Same contract as Supabase's auth.uid(): the `sub` claim of the caller's JWT, or null.
    create function auth.uid() returns uuid
      language sql stable
      as $fn$ select nullif(current_setting('request.jwt.claims', true)::jsonb ->> 'sub', '')::uuid $fn$;
  end if;
end $$;
