-- Only service_role may call the ledger functions; the internal helpers (prefixed `_`) are callable by
-- nobody but the other functions. The list is explicit so the app's own functions in public keep
-- whatever grants they have.
do $$
declare
  fn record;
begin
  for fn in
    select p.oid::regprocedure as signature, p.proname as name
      from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
     where n.nspname = 'public' and p.proname = any (array[
       '_flag', '_order_event', '_order_from_metadata', '_post_credits', '_transition',
       'apply_payment', 'apply_refund', 'audit_ledger', 'create_order', 'dashboard_metrics', 'expire_order',
       'fail_order', 'find_order_by_payment_ref', 'find_order_by_provider_ref', 'finish_event', 'flag_order',
       'get_order', 'get_sync_cursor', 'lease_due_orders', 'list_incidents', 'list_job_runs', 'list_orders',
       'open_incident', 'record_check', 'record_event', 'record_job_run', 'repair_balance',
       'repair_missing_grant', 'resolve_incident', 'resolve_review', 'set_provider_ref', 'set_sync_cursor'])
  loop
    execute format('revoke execute on function %s from public, anon, authenticated', fn.signature);
    if left(fn.name, 1) = '_' then
      execute format('revoke execute on function %s from service_role', fn.signature);
    else
      execute format('grant execute on function %s to service_role', fn.signature);
    end if;
  end loop;
end $$;
