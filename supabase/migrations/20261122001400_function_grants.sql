-- Only service_role may call the ledger functions; internal helpers (prefixed `_`) are callable by
-- nobody but the other functions. Runs last so it covers every function defined above.
do $$
declare
  fn record;
begin
  for fn in
    select p.oid::regprocedure as signature, p.proname as name
      from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
     where n.nspname = 'public' and p.prokind = 'f'
       and p.proname <> 'credit_ledger_is_append_only'
  loop
    execute format('revoke execute on function %s from public, anon, authenticated', fn.signature);
    if left(fn.name, 1) = '_' then
      execute format('revoke execute on function %s from service_role', fn.signature);
    else
      execute format('grant execute on function %s to service_role', fn.signature);
    end if;
  end loop;
end $$;
