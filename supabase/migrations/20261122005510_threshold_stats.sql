-- Threshold alerts: the counts the 5-minute tick compares to its thresholds (src/ops/thresholds.ts), in one
-- cheap call over a sliding window [p_since, p_now).
--
-- callbacks (per provider): deliveries = every attempt the inbox saw (attempts counts redeliveries);
--   failed = attempts that did not end processed or ignored (we answered 5xx and the provider retried, or the
--   event is still failed). Requests refused before the inbox (bad signature) are not counted here.
-- out_of_sync: orders paid at the provider whose credit did not come from their callback: paid orders
--   credited by reconcile in the window, plus paid orders with no purchase grant at all. `oldest_lag_s` is the
--   longest paid → credited (or paid → now) delay among them.
-- payments: orders created in the window and how many of them are paid.
create function payguard.threshold_stats(p_since timestamptz, p_now timestamptz)
  returns jsonb language sql stable security definer set search_path = ''
as $$
  select jsonb_build_object(
    'callbacks', (
      select coalesce(jsonb_object_agg(provider, jsonb_build_object('deliveries', deliveries, 'failed', failed)),
                      '{}'::jsonb)
        from (select provider, sum(attempts)::bigint as deliveries,
                     (sum(attempts) - count(*) filter (where status in ('processed', 'ignored')))::bigint as failed
                from payguard.webhook_events
               where received_at >= p_since and received_at < p_now
               group by provider) c),
    'out_of_sync', (
      select jsonb_build_object('count', count(*), 'oldest_lag_s', coalesce(max(lag_s), 0))
        from (select extract(epoch from coalesce(l.created_at, p_now) - o.paid_at)::bigint as lag_s
                from payguard.payment_orders o
                left join payguard.credit_ledger l on l.order_id = o.id and l.kind = 'purchase'
               where o.paid_at is not null and o.paid_at < p_now
                 and ((o.source = 'reconcile' and l.created_at >= p_since and l.created_at < p_now)
                      or (l.id is null and o.status in ('fulfilled', 'partially_refunded')))) s),
    'payments', (
      select jsonb_build_object('created', count(*), 'paid', count(*) filter (where paid_at is not null))
        from payguard.payment_orders
       where created_at >= p_since and created_at < p_now));
$$;
