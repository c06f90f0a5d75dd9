-- Row-level security on every table. Nobody writes tables directly: all writes go through the
-- SECURITY DEFINER functions, executable by service_role only. End users (authenticated) may read
-- their own orders, ledger and balance.
alter table public.credit_packages enable row level security;
alter table public.payment_orders enable row level security;
alter table public.order_events enable row level security;
alter table public.credit_ledger enable row level security;
alter table public.credit_balances enable row level security;
alter table public.webhook_events enable row level security;
alter table public.incidents enable row level security;
alter table public.job_runs enable row level security;
alter table public.sync_cursors enable row level security;

-- Only payguard's own tables: the app's other tables in public keep their grants.
revoke all on public.credit_packages, public.payment_orders, public.order_events, public.credit_ledger,
  public.credit_balances, public.webhook_events, public.incidents, public.job_runs, public.sync_cursors
  from public, anon, authenticated, service_role;
revoke execute on function public.credit_ledger_is_append_only() from public;

grant select on public.payment_orders, public.credit_ledger, public.credit_balances to authenticated;
grant select on public.credit_packages to anon, authenticated;

create policy own_orders on public.payment_orders for select to authenticated using (user_id = auth.uid());
create policy own_ledger on public.credit_ledger for select to authenticated using (user_id = auth.uid());
create policy own_balance on public.credit_balances for select to authenticated using (user_id = auth.uid());
create policy active_packages on public.credit_packages for select to anon, authenticated using (active);
