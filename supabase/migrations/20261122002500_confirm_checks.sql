-- When the success page last made payguard ask the provider about a pending order. Customers' browsers
-- poll `GET /api/orders/:id`; without this, every poll became one signed provider call. A claim
-- succeeds at most once per interval per order, also under concurrent polls (the upsert takes the row
-- lock and re-checks its condition).
create table payguard.confirm_checks (
  order_id text primary key references payguard.payment_orders (id),
  checked_at timestamptz not null
);
alter table payguard.confirm_checks enable row level security;
revoke all on payguard.confirm_checks from public, anon, authenticated, service_role;

-- true: the caller may query the provider now (and the check is recorded); false: one was made less
-- than p_min_interval_ms ago.
create function payguard.claim_confirm_check(p_order_id text, p_now timestamptz, p_min_interval_ms integer)
  returns boolean
  language plpgsql security definer set search_path = ''
as $$
begin
  if p_min_interval_ms is null or p_min_interval_ms < 0 then
    raise exception 'p_min_interval_ms must be >= 0' using errcode = 'P0001';
  end if;
  insert into payguard.confirm_checks as c (order_id, checked_at)
  values (p_order_id, p_now)
  on conflict (order_id) do update set checked_at = excluded.checked_at
   where c.checked_at <= excluded.checked_at - make_interval(secs => p_min_interval_ms / 1000.0);
  return found;
end $$;
