-- The doctor reads whichever migration history was used and reports every way PUBLIC, anon or
-- authenticated can reach payguard's tables and sequences, not only its functions.
--
-- History: `npm run db:migrate` records payguard's files in payguard_meta.applied_migrations (full file
-- names); the Supabase CLI records them in supabase_migrations.schema_migrations (version, name). A team
-- that copied payguard's files into its own history under new timestamps keeps their names, so the CLI's
-- table is matched by version or by name. p_expected_migration is the expected file's name without
-- `.sql` (`<14-digit version>_<name>`).
--
-- Exposure: for each table and sequence, the privileges each of those roles holds; the worker compares
-- them with what the RLS policies are for (src/ops/doctor.ts).
create or replace function payguard.doctor(p_expected_migration text)
  returns jsonb language plpgsql stable security definer set search_path = ''
as $$
declare
  expected_version text := left(p_expected_migration, 14);
  expected_name text := substr(p_expected_migration, 16);
  tracking text;
  applied boolean := false;
  latest text;
  functions jsonb;
  tables jsonb;
  sequences jsonb;
  hook regprocedure := to_regprocedure('payguard_app.on_settled(jsonb)');
begin
  if to_regclass('payguard_meta.applied_migrations') is not null then
    execute 'select max(left(name, length(name) - 4)), bool_or(name = $1 || ''.sql'')
               from payguard_meta.applied_migrations where name like ''%.sql'''
      into latest, applied using p_expected_migration;
    if latest is not null then
      tracking := 'payguard_meta.applied_migrations';
    end if;
  end if;
  if tracking is null and to_regclass('supabase_migrations.schema_migrations') is not null then
    tracking := 'supabase_migrations.schema_migrations';
    -- plpgsql_check cannot see into this table: it exists only where the Supabase CLI created it.
    execute 'select max(version::text || ''_'' || name), bool_or(version::text = $1 or name = $2)
               from supabase_migrations.schema_migrations where version::text = $1 or name like ''payguard\_%'''
      into latest, applied using expected_version, expected_name;
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

  select coalesce(jsonb_agg(jsonb_build_object(
           'name', c.relname,
           'rls', c.relrowsecurity,
           'grants', (select jsonb_object_agg(r.role, coalesce((
                        select jsonb_agg(priv order by priv)
                          from unnest(array['select', 'insert', 'update', 'delete', 'truncate', 'references',
                                            'trigger']) as priv
                         where has_table_privilege(r.role, c.oid, priv)), '[]'::jsonb))
                        from unnest(array['public', 'anon', 'authenticated']) as r(role)))
         order by c.relname), '[]'::jsonb)
    into tables
    from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
   where n.nspname = 'payguard' and c.relkind in ('r', 'p', 'v', 'm', 'f');

  select coalesce(jsonb_agg(jsonb_build_object(
           'name', c.relname,
           'grants', (select jsonb_object_agg(r.role, coalesce((
                        select jsonb_agg(priv order by priv)
                          from unnest(array['usage', 'select', 'update']) as priv
                         where has_sequence_privilege(r.role, c.oid, priv)), '[]'::jsonb))
                        from unnest(array['public', 'anon', 'authenticated']) as r(role)))
         order by c.relname), '[]'::jsonb)
    into sequences
    from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
   where n.nspname = 'payguard' and c.relkind = 'S';

  return jsonb_build_object(
    'migrations', jsonb_build_object('table', tracking, 'latest', latest, 'expected_applied', coalesce(applied, false)),
    'functions', functions,
    'tables', tables,
    'sequences', sequences,
    'app_hook', jsonb_build_object(
      'defined', hook is not null,
      'callable', hook is not null
        and has_schema_privilege('payguard_app', 'usage')
        and has_function_privilege(hook, 'execute')));
end $$;

select payguard._secure_functions();
