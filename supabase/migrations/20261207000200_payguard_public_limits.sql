-- Abuse limits of the public API, each checked in the transaction that would break it, so concurrent
-- requests of one user cannot both pass (the worker names them and their defaults: src/checkout/limits.ts).
-- Without them one account held every unit of a limited package with pending checkouts (renewed after
-- each TTL), and 30 checkouts plus 30 success-page polls made 60 Stripe calls in a second; accounts are
-- free wherever sign-up or anonymous sign-in is open.

-- ==== checkout limits ============================================================================
-- The limits count one user's orders that hold a unit; this reads exactly those, pending ones first.
create index payment_orders_user_held on payguard.payment_orders (user_id, status, package_id)
  where status in ('pending', 'fulfilled', 'partially_refunded', 'needs_review');

-- Which of one user's limits a new order of p_package_id would break, or null: the pending orders of that
-- package, all pending orders, then (for a package with a limited stock) the units of it the user holds,
-- counted as the stock counts them (pending or bought). A null limit is not checked. The caller holds the
-- user's checkout lock, so the counts cannot change before its order is written.
create function payguard._checkout_limit_reached(
  p_user_id uuid, p_package_id text, p_pending_max int, p_package_pending_max int, p_stock_max int
) returns text language sql stable security definer set search_path = ''
as $$
  select case
    when p_package_pending_max is not null and c.package_pending >= p_package_pending_max then 'package_pending_limit'
    when p_pending_max is not null and c.pending >= p_pending_max then 'pending_limit'
    when p_stock_max is not null and c.held >= p_stock_max and exists (
      select 1 from payguard.credit_packages p where p.id = p_package_id and p.stock_limit is not null
    ) then 'stock_per_user_limit'
  end
  from (
    select count(*) filter (where o.status = 'pending') as pending,
           count(*) filter (where o.status = 'pending' and o.package_id = p_package_id) as package_pending,
           count(*) filter (where o.package_id = p_package_id) as held
      from payguard.payment_orders o
     where o.user_id = p_user_id and o.status in ('pending', 'fulfilled', 'partially_refunded', 'needs_review')
  ) c;
$$;

-- checkout_begin as in the baseline (idempotent replay, sales switch, WeChat Pay's CNY), plus the user's
-- limits: p_pending_max pending orders in all, p_package_pending_max of this package, p_stock_max units of
-- a limited package (null: not checked). One user's checkouts wait for each other on the user's lock,
-- taken after the key's lock and before the package's (the same order everywhere, so no deadlock). New
-- outcomes: package_pending_limit, pending_limit, stock_per_user_limit; nothing is written for them. A
-- replay is never refused: its order exists already.
drop function payguard.checkout_begin(uuid, text, text, text, text, timestamptz, int);
create function payguard.checkout_begin(
  p_user_id uuid, p_package_id text, p_provider text, p_idempotency_key text, p_request_hash text,
  p_now timestamptz, p_expires_in_seconds int,
  p_pending_max int default null, p_package_pending_max int default null, p_stock_max int default null
) returns jsonb language plpgsql security definer set search_path = ''
as $$
declare
  request payguard.checkout_requests;
  reserved jsonb;
  limited text;
begin
  if p_idempotency_key is not null then
    -- Requests with one key wait for each other here, so only the first one creates an order.
    perform pg_advisory_xact_lock(hashtextextended(p_user_id::text || ':' || p_idempotency_key, 0));
    select * into request from payguard.checkout_requests
     where user_id = p_user_id and idempotency_key = p_idempotency_key;
    if found then
      if request.request_hash <> p_request_hash then
        return jsonb_build_object('outcome', 'conflict', 'order', null, 'response', null);
      end if;
      return jsonb_build_object('outcome', 'replayed', 'response', request.response,
        'order', (select to_jsonb(o) from payguard.payment_orders o where o.id = request.order_id),
        'package_name', (select p.name from payguard.credit_packages p where p.id = p_package_id));
    end if;
  end if;
  if payguard._sales_paused(p_package_id) then
    return jsonb_build_object('outcome', 'sales_paused', 'order', null, 'response', null);
  end if;
  if p_provider = 'wechatpay' and exists (
    select 1 from payguard.credit_packages where id = p_package_id and currency <> 'CNY'
  ) then
    return jsonb_build_object('outcome', 'currency_not_supported', 'order', null, 'response', null);
  end if;
  perform pg_advisory_xact_lock(hashtextextended('checkout-user:' || p_user_id::text, 0));
  limited := payguard._checkout_limit_reached(p_user_id, p_package_id, p_pending_max, p_package_pending_max,
                                              p_stock_max);
  if limited is not null then
    return jsonb_build_object('outcome', limited, 'order', null, 'response', null);
  end if;
  reserved := payguard._reserve_order(p_user_id, p_package_id, p_provider, p_now, null, p_expires_in_seconds);
  if reserved ->> 'outcome' <> 'created' then
    return reserved || jsonb_build_object('response', null);
  end if;
  if p_idempotency_key is not null then
    insert into payguard.checkout_requests (user_id, idempotency_key, request_hash, order_id, created_at, updated_at)
    values (p_user_id, p_idempotency_key, p_request_hash, reserved -> 'order' ->> 'id', p_now, p_now);
  end if;
  return reserved || jsonb_build_object('response', null,
    'package_name', (select p.name from payguard.credit_packages p where p.id = p_package_id));
end $$;

-- ==== confirm queries per user ===================================================================
-- The success page's provider queries per user, in windows of a minute from the window's first query: the
-- per-order throttle alone let a user with many pending orders make one provider call per order per poll.
create table payguard.confirm_query_windows (
  user_id uuid primary key,
  window_started_at timestamptz not null,
  queries integer not null check (queries > 0)
);
alter table payguard.confirm_query_windows enable row level security;
revoke all on payguard.confirm_query_windows from public, anon, authenticated, service_role;

-- claim_confirm_check answered a boolean; it now also takes the per-user limit and says which limit refused.
drop function payguard.claim_confirm_check(text, timestamptz, integer);

-- One success-page provider query for an order: at most one per order per p_min_interval_ms (as before)
-- and at most p_user_per_minute_max per minute for the order's owner. Answers {"outcome": "claimed"}
-- (query now; recorded), {"outcome": "throttled"} (this order was queried moments ago) or
-- {"outcome": "rate_limited", "retry_after_seconds": n} (the owner's queries of this window are used up).
-- Only a claim writes. The owner's claims wait for each other on the owner's lock, so concurrent polls
-- never take more than the limit, nor two claims of one order.
create function payguard.claim_confirm_check(
  p_order_id text, p_now timestamptz, p_min_interval_ms integer, p_user_per_minute_max integer
) returns jsonb language plpgsql security definer set search_path = ''
as $$
declare
  owner uuid;
  started timestamptz;
  used integer;
  fresh boolean;
begin
  if p_min_interval_ms is null or p_min_interval_ms < 0 then
    raise exception 'p_min_interval_ms must be >= 0' using errcode = 'P0001';
  end if;
  if p_user_per_minute_max is null or p_user_per_minute_max < 1 then
    raise exception 'p_user_per_minute_max must be >= 1' using errcode = 'P0001';
  end if;
  select o.user_id into owner from payguard.payment_orders o where o.id = p_order_id;
  if owner is null then
    raise exception 'order % is unknown', p_order_id using errcode = 'P0001';
  end if;
  perform pg_advisory_xact_lock(hashtextextended('confirm-user:' || owner::text, 0));
  if exists (select 1 from payguard.confirm_checks c
              where c.order_id = p_order_id
                and c.checked_at > p_now - make_interval(secs => p_min_interval_ms / 1000.0)) then
    return jsonb_build_object('outcome', 'throttled');
  end if;
  select w.window_started_at, w.queries into started, used
    from payguard.confirm_query_windows w where w.user_id = owner;
  fresh := started is null or started <= p_now - interval '1 minute';
  if not fresh and used >= p_user_per_minute_max then
    return jsonb_build_object('outcome', 'rate_limited', 'retry_after_seconds',
      greatest(1, ceil(extract(epoch from started + interval '1 minute' - p_now)))::int);
  end if;
  insert into payguard.confirm_query_windows as w (user_id, window_started_at, queries)
  values (owner, p_now, 1)
  on conflict (user_id) do update
    set window_started_at = case when fresh then p_now else w.window_started_at end,
        queries = case when fresh then 1 else w.queries + 1 end;
  insert into payguard.confirm_checks as c (order_id, checked_at) values (p_order_id, p_now)
  on conflict (order_id) do update set checked_at = excluded.checked_at;
  return jsonb_build_object('outcome', 'claimed');
end $$;

select payguard._secure_functions();
