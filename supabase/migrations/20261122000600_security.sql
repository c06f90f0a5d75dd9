-- Row-level security on every table. Nobody writes tables directly: all writes go through the
-- SECURITY DEFINER functions, executable by service_role only. End users (authenticated) may read
-- their own orders, ledger and balance.
alter table payguard.credit_packages enable row level security;
alter table payguard.payment_orders enable row level security;
alter table payguard.order_events enable row level security;
alter table payguard.credit_ledger enable row level security;
alter table payguard.credit_balances enable row level security;
alter table payguard.webhook_events enable row level security;
alter table payguard.incidents enable row level security;
alter table payguard.job_runs enable row level security;
alter table payguard.sync_cursors enable row level security;

-- Only payguard's own tables: the app's other tables in public keep their grants.
revoke all on payguard.credit_packages, payguard.payment_orders, payguard.order_events, payguard.credit_ledger,
  payguard.credit_balances, payguard.webhook_events, payguard.incidents, payguard.job_runs, payguard.sync_cursors
  from public, anon, authenticated, service_role;
revoke execute on function payguard.credit_ledger_is_append_only() from public;

grant select on payguard.payment_orders, payguard.credit_ledger, payguard.credit_balances to authenticated;
grant select on payguard.credit_packages to anon, authenticated;

create policy own_orders on payguard.payment_orders for select to authenticated using (user_id = auth.uid());
create policy own_ledger on payguard.credit_ledger for select to authenticated using (user_id = auth.uid());
create policy own_balance on payguard.credit_balances for select to authenticated using (user_id = auth.uid());
create policy active_packages on payguard.credit_packages for select to anon, authenticated using (active);
