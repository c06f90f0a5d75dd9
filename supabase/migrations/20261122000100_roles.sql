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

grant usage on schema public to anon, authenticated, service_role;

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
