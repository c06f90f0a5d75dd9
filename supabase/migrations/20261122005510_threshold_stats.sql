-- Threshold alerts: the counts the 5-minute tick compares to its thresholds (src/ops/thresholds.ts), in one
-- cheap call over a sliding window [p_since, p_now).
--
-- callbacks (per provider): deliveries = every attempt the inbox saw (attempts counts redeliveries);
--   failed = attempts that did not end processed or ignored (we answered 5xx and the provider retried, or the
--   event is still failed). Requests refused before the inbox (bad signature) are not counted here.
-- out_of_sync: orders paid in the window whose credit did not come from their callback: credited by
--   reconcile, or not credited at all (no purchase grant). `oldest_lag_s` is the longest paid → credited
--   (or paid → now) delay among them. Older gaps are the hourly ledger audit's.
-- payments: orders created in the window and how many of them are paid.
-- The window scans stay index range scans however large the tables grow.
create index payment_orders_created on payguard.payment_orders (created_at);
create index payment_orders_paid on payguard.payment_orders (paid_at) where paid_at is not null;
create index webhook_events_received on payguard.webhook_events (received_at);

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
               where o.paid_at >= p_since and o.paid_at < p_now
                 and ((o.source = 'reconcile' and l.created_at < p_now)
                      or (l.id is null and o.status in ('fulfilled', 'partially_refunded')))) s),
    'payments', (
      select jsonb_build_object('created', count(*), 'paid', count(*) filter (where paid_at < p_now))
        from payguard.payment_orders
       where created_at >= p_since and created_at < p_now));
$$;
