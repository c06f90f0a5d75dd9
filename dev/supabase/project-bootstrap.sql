-- One database shaped like a fresh Supabase project, before any user migration. Run in that database by the
-- superuser supabase_admin, after cluster-roles.sql (dev/supabase/cluster.ts); safe to run again.
-- Followed: supabase/postgres at commit 7db7e1a9e34b9ffb9b0e3372ccf08eb4fa772f4b (2024-10-23):
-- migrations/db/migrate.sh, migrations/db/init-scripts/00000000000000-initial-schema.sql,
-- 00000000000001-auth-schema.sql, migrations/db/migrations/10000000000000_demote-postgres.sql,
-- 20211115181400_update-auth-permissions.sql, 20211124212715_update-auth-owner.sql,
-- 20230224042246_grant_extensions_perms_for_postgres.sql; the auth functions as Supabase Auth
-- (supabase/auth at commit bc32168e13fdc928c98b449fc76bc3fdb9a293c5) leaves them:
-- migrations/20220224000811_update_auth_functions.up.sql and 20220531120530_add_auth_jwt_function.up.sql.
-- Left out: storage, realtime, graphql, vault, pgsodium, pg_stat_statements, pgjwt (not packaged here), the
-- event triggers for pg_cron / pg_net.

-- migrate.sh: `alter database postgres owner to postgres`. In Postgres 15 schema public belongs to
-- pg_database_owner, so this also makes postgres the owner of public, as on a project.
do $$
begin
  execute format('alter database %I owner to postgres', current_database());
end $$;

-- 00000000000000-initial-schema.sql: usage on public for the API roles, and what they get on everything
-- postgres (the init scripts ran as it) or supabase_admin creates there later.
grant usage on schema public to postgres, anon, authenticated, service_role;
alter default privileges for role postgres in schema public
  grant all on tables to postgres, anon, authenticated, service_role;
alter default privileges for role postgres in schema public
  grant all on functions to postgres, anon, authenticated, service_role;
alter default privileges for role postgres in schema public
  grant all on sequences to postgres, anon, authenticated, service_role;
alter default privileges for role supabase_admin in schema public
  grant all on sequences to postgres, anon, authenticated, service_role;
alter default privileges for role supabase_admin in schema public
  grant all on tables to postgres, anon, authenticated, service_role;
alter default privileges for role supabase_admin in schema public
  grant all on functions to postgres, anon, authenticated, service_role;

-- 00000000000000-initial-schema.sql: extension namespacing (created by postgres, so owned by it).
create schema if not exists extensions authorization postgres;
create extension if not exists "uuid-ossp" with schema extensions;
create extension if not exists pgcrypto with schema extensions;
grant usage on schema extensions to postgres, anon, authenticated, service_role;

-- `supabase db lint` needs plpgsql_check; the platform creates allowed extensions as the superuser.
do $$
begin
  if exists (select 1 from pg_catalog.pg_available_extensions where name = 'plpgsql_check') then
    create extension if not exists plpgsql_check with schema extensions;
  end if;
end $$;

-- 20230224042246_grant_extensions_perms_for_postgres.sql (after every extension above exists).
grant all privileges on all tables in schema extensions to postgres with grant option;
grant all privileges on all routines in schema extensions to postgres with grant option;
grant all privileges on all sequences in schema extensions to postgres with grant option;
alter default privileges in schema extensions grant all on tables to postgres with grant option;
alter default privileges in schema extensions grant all on routines to postgres with grant option;
alter default privileges in schema extensions grant all on sequences to postgres with grant option;

-- 00000000000001-auth-schema.sql: schema auth, owned by supabase_admin, and its functions, owned by
-- supabase_auth_admin (20211124212715_update-auth-owner.sql) in the form Supabase Auth's migrations leave
-- them: the claim from `request.jwt.claim.<name>` (older PostgREST) or from `request.jwt.claims`.
create schema if not exists auth authorization supabase_admin;

create or replace function auth.uid()
returns uuid
language sql stable
as $$
  select
  coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
  )::uuid
$$;

create or replace function auth.role()
returns text
language sql stable
as $$
  select
  coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
  )::text
$$;

create or replace function auth.email()
returns text
language sql stable
as $$
  select
  coalesce(
    nullif(current_setting('request.jwt.claim.email', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')
  )::text
$$;

create or replace function auth.jwt()
returns jsonb
language sql stable
as $$
  select
    coalesce(
        nullif(current_setting('request.jwt.claim', true), ''),
        nullif(current_setting('request.jwt.claims', true), '')
    )::jsonb
$$;

comment on function auth.uid() is 'Deprecated. Use auth.jwt() -> ''sub'' instead.';
comment on function auth.role() is 'Deprecated. Use auth.jwt() -> ''role'' instead.';
comment on function auth.email() is 'Deprecated. Use auth.jwt() -> ''email'' instead.';

alter function auth.uid() owner to supabase_auth_admin;
alter function auth.role() owner to supabase_auth_admin;
alter function auth.email() owner to supabase_auth_admin;
alter function auth.jwt() owner to supabase_auth_admin;

-- 00000000000001-auth-schema.sql and 20211115181400_update-auth-permissions.sql. postgres gets usage on auth
-- and execute on its functions, but not CREATE: the demote migration's `grant all on schema auth` was
-- taken back on hosted projects on April 21, 2025 (see cluster-roles.sql).
grant usage on schema auth to anon, authenticated, service_role;
grant all privileges on schema auth to supabase_auth_admin;
grant usage on schema auth to postgres;
grant all on all routines in schema auth to postgres;
alter default privileges for role supabase_auth_admin in schema auth grant all on tables to postgres;
alter default privileges for role supabase_auth_admin in schema auth grant all on sequences to postgres;
alter default privileges for role supabase_auth_admin in schema auth grant all on routines to postgres;
