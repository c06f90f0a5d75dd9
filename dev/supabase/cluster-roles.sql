-- The cluster-wide roles of a Supabase project, run once per cluster by its bootstrap superuser
-- supabase_admin (dev/supabase/cluster.ts). Followed: supabase/postgres at commit
-- 7db7e1a9e34b9ffb9b0e3372ccf08eb4fa772f4b (2024-10-23): migrations/db/migrate.sh,
-- migrations/db/init-scripts/00000000000000-initial-schema.sql, 00000000000001-auth-schema.sql,
-- 00000000000003-post-setup.sql, migrations/db/migrations/10000000000000_demote-postgres.sql and the later
-- role migrations named below. Only what migrations, grants, RLS and role switching depend on: the storage,
-- realtime, replication, read-only, dashboard, pgbouncer and pgsodium roles are left out.

-- 00000000000000-initial-schema.sql: the super admin.
alter role supabase_admin with superuser createdb createrole replication bypassrls;

-- migrate.sh creates postgres as a superuser, runs the init scripts as it, then demotes it. This is the role
-- after 10000000000000_demote-postgres.sql: the one user migrations run as.
create role postgres with nosuperuser createdb createrole login replication bypassrls;

-- 00000000000000-initial-schema.sql: the API roles and the role PostgREST logs in as.
create role anon nologin noinherit;
create role authenticated nologin noinherit;
create role service_role nologin noinherit bypassrls;
create role authenticator login noinherit;
grant anon to authenticator;
grant authenticated to authenticator;
grant service_role to authenticator;
-- (initial-schema also grants supabase_admin to authenticator; 20221103090837_revoke_admin.sql revokes it.)

-- 20230529180330_alter_api_roles_for_inherit.sql
alter role anon inherit;
alter role authenticated inherit;
alter role service_role inherit;

-- Timeouts: initial-schema.sql, 20221028101028_set_authenticator_timeout.sql,
-- 20231130133139_set_lock_timeout_to_authenticator_role.sql. They apply to sessions that log in as these
-- roles, not to `set role`.
alter role anon set statement_timeout = '3s';
alter role authenticated set statement_timeout = '8s';
alter role authenticator set statement_timeout = '8s';
alter role authenticator set lock_timeout = '8s';

-- 00000000000001-auth-schema.sql: Supabase Auth's own role, owner of the auth schema's objects.
create role supabase_auth_admin noinherit createrole login noreplication;
alter role supabase_auth_admin set search_path = "auth";

-- What postgres is a member of: 20230201083204_grant_auth_roles_to_postgres.sql (so it can `set role` to
-- the API roles), 20230306081037_grant_pg_monitor_to_postgres.sql,
-- 20240606060239_grant_predefined_roles_to_postgres.sql.
grant anon, authenticated, service_role to postgres;
grant pg_monitor to postgres;
grant pg_read_all_data, pg_signal_backend to postgres;
-- Not granted on purpose: supabase_auth_admin (20220609081115 grants it to postgres). Since April 21, 2025
-- hosted projects no longer let postgres create or drop tables and functions in auth
-- (supabase.com/changelog "Restricting Access on Auth, Storage, and Realtime Schemas"); without that
-- membership a migration that tries fails here as it would there.

-- 00000000000003-post-setup.sql, byte for byte: the escaped "\$user" (written for a shell heredoc) is what
-- projects really have, so neither role's own-name schema is ever on its path.
alter role supabase_admin set search_path to "\$user", public, auth, extensions;
alter role postgres set search_path to "\$user", public, extensions;
