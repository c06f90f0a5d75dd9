-- Only service_role may call the ledger functions; the internal helpers (prefixed `_`) are callable by
-- nobody but the other functions. Only schema payguard is touched: the app's functions keep their grants.
do $$
declare
  fn record;
begin
  for fn in
    select p.oid::regprocedure as signature, p.proname as name, p.prorettype = 'pg_catalog.trigger'::regtype as is_trigger
      from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
     where n.nspname = 'payguard'
  loop
    execute format('revoke execute on function %s from public, anon, authenticated', fn.signature);
    if left(fn.name, 1) = '_' or fn.is_trigger then
      execute format('revoke execute on function %s from service_role', fn.signature);
    else
      execute format('grant execute on function %s to service_role', fn.signature);
    end if;
  end loop;
end $$;
