-- Ledger audit and repairs. The append-only ledger is the truth: a balance that disagrees with it is
-- recomputed from it, and the correction is kept as a resolved incident (who, before, after, when).

create function payguard.audit_ledger(p_now timestamptz, p_stuck_after_seconds int default 3600) returns jsonb
  language sql stable security definer set search_path = ''
as $$
  with sums as (
    select user_id, sum(credits) as ledger_credits from payguard.credit_ledger group by user_id
  ), findings as (
    select 'balance_mismatch' as kind, coalesce(b.user_id, s.user_id)::text as subject,
           jsonb_build_object('balance', coalesce(b.credits, 0), 'ledger_sum', coalesce(s.ledger_credits, 0)) as detail
      from payguard.credit_balances b full join sums s on s.user_id = b.user_id
     where coalesce(b.credits, 0) <> coalesce(s.ledger_credits, 0)
    union all
    select 'fulfilled_without_grant', o.id, jsonb_build_object('status', o.status, 'user_id', o.user_id, 'credits', o.credits)
      from payguard.payment_orders o
     where o.status in ('fulfilled', 'partially_refunded', 'refunded')
       and not exists (select 1 from payguard.credit_ledger l where l.order_id = o.id and l.kind = 'purchase')
    union all
    select 'grant_without_fulfilled_order', l.order_id, jsonb_build_object('status', o.status, 'credits', l.credits)
      from payguard.credit_ledger l join payguard.payment_orders o on o.id = l.order_id
     where l.kind = 'purchase' and o.status not in ('fulfilled', 'partially_refunded', 'refunded', 'needs_review')
       and o.review_resolution is distinct from 'reject' -- a rejected review reverses its grant (an adjustment)
    union all
    select 'pending_past_expiry', o.id, jsonb_build_object('expires_at', o.expires_at, 'check_attempts', o.check_attempts)
      from payguard.payment_orders o
     where o.status = 'pending' and o.expires_at + make_interval(secs => p_stuck_after_seconds) < p_now
    union all
    select 'needs_review', o.id, jsonb_build_object('reason', o.review_reason, 'since', o.updated_at)
      from payguard.payment_orders o where o.status = 'needs_review'
    union all
    select 'failed_inbox_event', e.provider || ':' || e.event_id,
           jsonb_build_object('type', e.event_type, 'order_id', e.order_id, 'error', e.last_error, 'attempts', e.attempts)
      from payguard.webhook_events e
     where e.status = 'failed' or (e.status = 'received' and e.received_at < p_now - interval '10 minutes')
    union all
    -- A payment held because its order is not stored: money moved and nobody is credited until the order
    -- is written (then the hold is applied and the finding is gone). Reported at once, whatever its age.
    select 'held_payment', h.provider || ':' || h.fact_ref,
           jsonb_build_object('order_id', h.order_id, 'payment_ref', h.payment_ref, 'held_at', h.held_at,
                              'amount_minor', h.fact -> 'amount_minor', 'currency', h.fact -> 'currency')
      from payguard.held_facts h where h.kind = 'payment'
    union all
    -- A refund held longer than this (6 hours) is waiting for a payment that may never come. (Early
    -- refunds are normal after an outage: the payment event waits in the provider's retry backoff.)
    select 'held_fact_stale', h.provider || ':' || h.kind || ':' || h.fact_ref,
           jsonb_build_object('order_id', h.order_id, 'payment_ref', h.payment_ref, 'held_at', h.held_at)
      from payguard.held_facts h where h.kind = 'refund' and h.held_at < p_now - interval '6 hours'
  )
  select coalesce(jsonb_agg(jsonb_build_object('kind', kind, 'subject', subject, 'detail', detail)
                            order by kind, subject), '[]'::jsonb)
    from findings;
$$;

create function payguard.repair_balance(p_user_id uuid, p_now timestamptz) returns jsonb
  language plpgsql security definer set search_path = ''
as $$
declare
  before bigint;
  truth bigint;
begin
  select credits into before from payguard.credit_balances where user_id = p_user_id for update;
  select coalesce(sum(credits), 0) into truth from payguard.credit_ledger where user_id = p_user_id;
  if before is not distinct from truth then
    return jsonb_build_object('delta', 0);
  end if;
  insert into payguard.credit_balances as b (user_id, credits, updated_at) values (p_user_id, truth, p_now)
  on conflict (user_id) do update set credits = excluded.credits, updated_at = excluded.updated_at;
  insert into payguard.incidents (key, kind, severity, status, summary, detail, opened_at, last_seen_at, resolved_at)
  values ('balance_repaired:' || p_user_id || ':' || p_now, 'balance_repaired', 'warning', 'resolved',
          'Balance recomputed from the ledger',
          jsonb_build_object('user_id', p_user_id, 'before', coalesce(before, 0), 'after', truth), p_now, p_now, p_now);
  return jsonb_build_object('delta', truth - coalesce(before, 0));
end $$;

create function payguard.repair_missing_grant(p_order_id text, p_now timestamptz) returns jsonb
  language plpgsql security definer set search_path = ''
as $$
declare
  o payguard.payment_orders;
begin
  select * into o from payguard.payment_orders where id = p_order_id for update;
  if not found or o.status not in ('fulfilled', 'partially_refunded', 'refunded') then
    return jsonb_build_object('outcome', 'noop');
  end if;
  if not payguard._post_credits(o.user_id, o.id, 'purchase', o.credits, o.provider, null, 'repair: missing grant', p_now) then
    return jsonb_build_object('outcome', 'noop');
  end if;
  perform payguard._order_event(o.id, p_now, 'grant_repaired', 'admin', jsonb_build_object('credits', o.credits));
  return jsonb_build_object('outcome', 'granted');
end $$;

create function payguard.dashboard_metrics(p_since timestamptz, p_now timestamptz) returns jsonb
  language sql stable security definer set search_path = ''
as $$
  with window_orders as (
    select * from payguard.payment_orders where created_at >= p_since and created_at <= p_now
  )
  select jsonb_build_object(
    'since', p_since, 'until', p_now,
    'orders_by_status', coalesce((select jsonb_object_agg(status, n)
                                   from (select status, count(*) as n from payguard.payment_orders group by status) s), '{}'::jsonb),
    'orders_created', (select count(*) from window_orders),
    'orders_fulfilled', (select count(*) from window_orders where paid_at is not null),
    'fulfilment_rate', (select case when count(*) = 0 then null
                                    else round(count(*) filter (where paid_at is not null)::numeric / count(*), 4) end
                          from window_orders),
    'median_seconds_to_paid', (select percentile_cont(0.5) within group (order by extract(epoch from paid_at - created_at))
                                 from window_orders where paid_at is not null),
    'credits_granted', (select coalesce(sum(credits), 0) from payguard.credit_ledger
                         where kind = 'purchase' and created_at between p_since and p_now),
    'credits_clawed_back', (select coalesce(-sum(credits), 0) from payguard.credit_ledger
                             where kind = 'clawback' and created_at between p_since and p_now),
    'open_incidents', (select count(*) from payguard.incidents where status = 'open'),
    'failed_inbox_events', (select count(*) from payguard.webhook_events where status = 'failed'),
    'webhook_events', coalesce((select jsonb_object_agg(provider || ':' || status, n)
                                 from (select provider, status, count(*) as n from payguard.webhook_events
                                        where received_at between p_since and p_now group by provider, status) w), '{}'::jsonb)
  );
$$;
