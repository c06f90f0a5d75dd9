-- Installation doctor: what the database itself can tell about whether payguard can work here. The worker
-- (src/ops/doctor.ts) turns these facts into findings; it also knows what SQL cannot see (the functions
-- the code calls, whether the Data API exposes the schema at all).
--
-- Facts returned: the migration tracking table and whether the code's expected latest migration is in it
-- (Supabase CLI: supabase_migrations.schema_migrations; the local runner: payguard_meta.applied_migrations),
-- every payguard function with who may execute it, every payguard table with its RLS flag, and whether the
-- app hook payguard_app.on_settled(jsonb) exists and is executable by the owner of the settlement functions.
create function payguard.doctor(p_expected_migration text)
  returns jsonb language plpgsql stable security definer set search_path = ''
as $$
declare
  tracking text;
  applied boolean := false;
  latest text;
  functions jsonb;
  tables jsonb;
  hook regprocedure := to_regprocedure('payguard_app.on_settled(jsonb)');
begin
  if to_regclass('supabase_migrations.schema_migrations') is not null then
    tracking := 'supabase_migrations.schema_migrations';
    execute 'select max(version)::text, bool_or(version::text = $1) from supabase_migrations.schema_migrations'
      into latest, applied using p_expected_migration;
  elsif to_regclass('payguard_meta.applied_migrations') is not null then
    tracking := 'payguard_meta.applied_migrations';
    execute 'select max(left(name, 14)), bool_or(left(name, 14) = $1) from payguard_meta.applied_migrations'
      into latest, applied using p_expected_migration;
  end if;

  select coalesce(jsonb_agg(jsonb_build_object(
           'name', p.proname,
           'signature', p.oid::regprocedure::text,
           'internal', left(p.proname, 1) = '_' or p.prorettype = 'pg_catalog.trigger'::regtype,
           'service_role', has_function_privilege('service_role', p.oid, 'execute'),
           'public', has_function_privilege('public', p.oid, 'execute'),
           'anon', has_function_privilege('anon', p.oid, 'execute'),
           'authenticated', has_function_privilege('authenticated', p.oid, 'execute'))
         order by p.proname), '[]'::jsonb)
    into functions
    from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
   where n.nspname = 'payguard';

  select coalesce(jsonb_agg(jsonb_build_object('name', c.relname, 'rls', c.relrowsecurity) order by c.relname),
                  '[]'::jsonb)
    into tables
    from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
   where n.nspname = 'payguard' and c.relkind in ('r', 'p');

  return jsonb_build_object(
    'migrations', jsonb_build_object('table', tracking, 'latest', latest, 'expected_applied', coalesce(applied, false)),
    'functions', functions,
    'tables', tables,
    'app_hook', jsonb_build_object(
      'defined', hook is not null,
      'callable', hook is not null
        and has_schema_privilege('payguard_app', 'usage')
        and has_function_privilege(hook, 'execute')));
end $$;
