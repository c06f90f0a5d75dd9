-- The last provider check of each order, for the operator asking "why was this order not credited?". The
-- reconcile run and the success page ask the provider about pending orders, but only the schedule
-- (check_attempts, next_check_at) was kept: an order whose checks kept failing (WeChat SYSTEM_ERROR, a Stripe
-- 5xx) looked exactly like one the customer abandoned. Now every check leaves its time, its outcome and, when
-- the call failed, the provider's code and a short message (never a secret or payer data).
--
-- Outcomes: `paid` (the provider has the payment), `processing` (an async payment is in flight), `confirming`
-- (the payer is confirming right now), `unpaid`, `not_found` (the provider has no such order yet), `closed`
-- (closed at the provider at expiry), `failed`, `mismatch` (paid, but not as ordered), `error` (the call failed).

alter table payguard.payment_orders
  add column last_check_at timestamptz,
  add column last_check_outcome text check (last_check_outcome in (
    'paid', 'processing', 'confirming', 'unpaid', 'not_found', 'closed', 'failed', 'mismatch', 'error')),
  add column last_check_error text check (char_length(last_check_error) <= 200);

-- The overview's "pending orders whose last provider check failed" and the orders list's `check=failed`.
create index payment_orders_check_failed on payguard.payment_orders (last_check_at)
  where status = 'pending' and last_check_outcome = 'error';

-- Records one provider check's result on the order (any status), never over a newer one. `p_count`: the check
-- was one of the reconcile schedule's attempts (a failed call is still an attempt), so check_attempts of a
-- pending order grows; the success page's own checks do not count. The schedule itself is not moved: a failed
-- reconcile check is retried when its lease runs out. Answers the order, or null when there is none.
create function payguard.note_check(p_order_id text, p_now timestamptz, p_outcome text, p_error text default null,
                                    p_count boolean default false)
  returns jsonb language plpgsql security definer set search_path = ''
as $$
declare
  o payguard.payment_orders;
begin
  update payguard.payment_orders
     set last_check_at = p_now, last_check_outcome = p_outcome,
         last_check_error = case when p_outcome = 'error' then left(coalesce(p_error, 'unknown'), 200) end,
         check_attempts = check_attempts + case when p_count and status = 'pending' then 1 else 0 end
   where id = p_order_id and (last_check_at is null or last_check_at <= p_now)
  returning * into o;
  if not found then
    select * into o from payguard.payment_orders where id = p_order_id;
  end if;
  return to_jsonb(o);
end $$;

-- record_check now also keeps the check's answer: `p_outcome` (unpaid, confirming, not_found), by default
-- `confirming` when the caller asks to check again soon (the payer is confirming) and `unpaid` otherwise.
-- The schedule is the baseline's: 1, 2, 5, 10, 20, 30 min, then every 30 min, never later than expiry.
drop function payguard.record_check(text, timestamptz, int);
create function payguard.record_check(p_order_id text, p_now timestamptz, p_delay_seconds int default null,
                                      p_outcome text default null)
  returns jsonb language plpgsql security definer set search_path = ''
as $$
declare
  o payguard.payment_orders;
  backoff_seconds int[] := array[60, 120, 300, 600, 1200, 1800];
  next_at timestamptz;
begin
  select * into o from payguard.payment_orders where id = p_order_id for update;
  if not found or o.status <> 'pending' then
    return to_jsonb(o);
  end if;
  next_at := p_now + make_interval(secs => coalesce(p_delay_seconds,
    backoff_seconds[least(o.check_attempts + 1, array_length(backoff_seconds, 1))]));
  if o.expires_at > p_now then
    next_at := least(next_at, o.expires_at);
  end if;
  update payguard.payment_orders
     set check_attempts = o.check_attempts + 1, updated_at = p_now, next_check_at = next_at,
         last_check_at = greatest(p_now, o.last_check_at),
         last_check_outcome = case when o.last_check_at > p_now then o.last_check_outcome
                                   else coalesce(p_outcome, case when p_delay_seconds is null then 'unpaid'
                                                                 else 'confirming' end) end,
         last_check_error = case when o.last_check_at > p_now then o.last_check_error end
   where id = o.id returning * into o;
  return to_jsonb(o);
end $$;

-- Search by order id (WeChat's out_trade_no), provider reference (Stripe session `cs_…`), the credited payment
-- reference, or any payment recorded for the order (`pi_…`, a WeChat transaction id, a second or mismatched
-- payment); by user, status, provider, creation date, and `p_check = 'failed'`: pending orders whose last
-- provider check failed.
drop function payguard.admin_search_orders(text, uuid, text, text, timestamptz, timestamptz, int, int);
create function payguard.admin_search_orders(
  p_query text, p_user_id uuid, p_status text, p_provider text, p_from timestamptz, p_to timestamptz,
  p_limit int, p_offset int, p_check text default null
) returns jsonb language sql stable security definer set search_path = ''
as $$
  with matched as (
    select * from payguard.payment_orders o
     where (p_query is null or o.id = p_query or o.provider_ref = p_query or o.payment_ref = p_query
            or o.id in (select p.order_id from payguard.order_payments p where p.payment_ref = p_query))
       and (p_user_id is null or o.user_id = p_user_id)
       and (p_status is null or o.status = p_status)
       and (p_provider is null or o.provider = p_provider)
       and (p_from is null or o.created_at >= p_from)
       and (p_to is null or o.created_at < p_to)
       and (p_check is null or (p_check = 'failed' and o.status = 'pending' and o.last_check_outcome = 'error'))
  )
  select jsonb_build_object(
    'total', (select count(*) from matched),
    'orders', coalesce((select jsonb_agg(to_jsonb(page) order by page.created_at desc, page.id)
                          from (select * from matched order by created_at desc, id
                                 limit least(greatest(p_limit, 1), 200) offset greatest(p_offset, 0)) page), '[]'::jsonb));
$$;

-- The order's detail as before (its row now carries last_check_*), plus every provider payment recorded for it
-- (`payments`: reference, role, amount, paid_at), so the page can say "paid at the provider" for an order that
-- was not credited.
create or replace function payguard.admin_order_detail(p_order_id text) returns jsonb
  language sql stable security definer set search_path = ''
as $$
  select to_jsonb(o) || jsonb_build_object(
    'timeline', coalesce((select jsonb_agg(jsonb_build_object('at', e.at, 'kind', e.kind, 'source', e.source, 'detail', e.detail)
                                           order by e.at, e.id)
                            from payguard.order_events e where e.order_id = o.id), '[]'::jsonb),
    'events', coalesce((select jsonb_agg(to_jsonb(w) order by w.received_at)
                          from payguard.webhook_events w where w.order_id = o.id), '[]'::jsonb),
    'ledger', coalesce((select jsonb_agg(to_jsonb(l) order by l.id)
                          from payguard.credit_ledger l where l.order_id = o.id), '[]'::jsonb),
    'refunds', coalesce((select jsonb_agg(to_jsonb(r) order by r.applied_at)
                           from payguard.payment_refunds r where r.order_id = o.id), '[]'::jsonb),
    'payments', coalesce((select jsonb_agg(to_jsonb(p) order by p.paid_at, p.payment_ref)
                            from payguard.order_payments p where p.order_id = o.id), '[]'::jsonb),
    'incidents', coalesce((select jsonb_agg(to_jsonb(i) order by i.opened_at)
                             from payguard.incidents i
                            where i.detail ->> 'order_id' = o.id or i.key like '%:' || o.id), '[]'::jsonb),
    'actions', coalesce((select jsonb_agg(to_jsonb(a) order by a.at)
                           from payguard.admin_actions a where a.order_id = o.id), '[]'::jsonb),
    'balance', jsonb_build_object(
      'stored', (select b.credits from payguard.credit_balances b where b.user_id = o.user_id),
      'ledger_sum', (select coalesce(sum(l.credits), 0) from payguard.credit_ledger l where l.user_id = o.user_id)))
    from payguard.payment_orders o where o.id = p_order_id;
$$;

select payguard._secure_functions();
