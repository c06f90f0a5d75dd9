/**
 * Every catalog fact about payguard's schema, for comparing an upgraded install with a fresh one: tables
 * and their columns, RLS flags and grants, policies, constraints, indexes, triggers, functions with their
 * bodies, settings and grants, sequences with their grants. Names only, never oids, so two databases compare.
 */
import pg from "pg";

const SNAPSHOT_SQL = `
  with ns as (select oid from pg_catalog.pg_namespace where nspname = 'payguard')
  select 'relation' as kind, c.relname || ' ' || c.relkind::text || ' rls=' || c.relrowsecurity
         || ' force=' || c.relforcerowsecurity || ' acl=' || coalesce(c.relacl::text, '') as fact
    from pg_catalog.pg_class c where c.relnamespace in (select oid from ns)
  union all
  select 'column', c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
         || ' notnull=' || a.attnotnull || ' identity=' || a.attidentity::text || ' generated=' || a.attgenerated::text
         || ' default=' || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
    from pg_catalog.pg_attribute a
    join pg_catalog.pg_class c on c.oid = a.attrelid
    left join pg_catalog.pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
   where c.relnamespace in (select oid from ns) and a.attnum > 0 and not a.attisdropped
  union all
  select 'constraint', conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(c.oid)
    from pg_catalog.pg_constraint c where c.connamespace in (select oid from ns)
  union all
  select 'index', indexdef from pg_catalog.pg_indexes where schemaname = 'payguard'
  union all
  select 'policy', tablename || ' ' || policyname || ' ' || permissive || ' ' || cmd || ' ' || roles::text
         || ' using=' || coalesce(qual, '') || ' check=' || coalesce(with_check, '')
    from pg_catalog.pg_policies where schemaname = 'payguard'
  union all
  select 'trigger', tgrelid::regclass::text || ' ' || pg_get_triggerdef(t.oid)
    from pg_catalog.pg_trigger t join pg_catalog.pg_class c on c.oid = t.tgrelid
   where c.relnamespace in (select oid from ns) and not t.tgisinternal
  union all
  select 'function', p.oid::regprocedure::text || ' returns=' || pg_get_function_result(p.oid)
         || ' definer=' || p.prosecdef || ' volatile=' || p.provolatile::text
         || ' config=' || coalesce(p.proconfig::text, '') || ' acl=' || coalesce(p.proacl::text, '')
         || ' body=' || p.prosrc
    from pg_catalog.pg_proc p where p.pronamespace in (select oid from ns)
  union all
  select 'sequence', sequencename || ' ' || data_type::text || ' ' || start_value || ' ' || increment_by
    from pg_catalog.pg_sequences where schemaname = 'payguard'
  union all
  select 'schema_acl', coalesce(nspacl::text, '') from pg_catalog.pg_namespace where nspname = 'payguard'
  order by 1, 2`;

export async function schemaSnapshot(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ kind: string; fact: string }>(SNAPSHOT_SQL);
    return rows.map((row) => `${row.kind}: ${row.fact}`);
  } finally {
    await client.end();
  }
}
