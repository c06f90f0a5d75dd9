-- The console overview answers "is money at risk?" for the person woken by an alert.
-- * `admin_attention`: what needs a person now, as counts (and amounts per currency where money is involved):
--   open critical incidents, payments that reached payguard and credit nobody ("paid but not credited"), orders
--   in review, open `app_hook_failed` incidents, inbox events failed or stuck, pending orders whose last
--   provider check failed. `admin_paid_not_credited` lists the payments behind the second figure.
-- * Webhook success counts delivery attempts, not final states. The overview counted events that ended
--   processed, so a replay turned 97.7 % back into 100 % and hid the failed deliveries. The inbox already
--   counts attempts (`attempts`: every delivery `record_event` saw unfinished) and the worker records a failed
--   delivery as `failed` (src/ledger/settle.ts `recordFailure`). One attempt was still lost: a settlement that
--   timed out in the worker (answered 5xx) but committed in the database left a finished row, and the failure
--   was never counted. `finish_event(…, 'failed', …)` now counts every failed answer in `failed_answers`, also
--   on a row another attempt finished. The overview and the callback failure-rate alert (`threshold_stats`)
--   share one count (`_inbox_deliveries`).

-- ==== delivery attempts ==========================================================================
-- How many times payguard recorded a failed answer to a delivery of this event (5xx, or a permanent
-- failure acknowledged for the audit). Counted even when the row was finished meanwhile.
alter table payguard.webhook_events
  add column failed_answers integer not null default 0 check (failed_answers >= 0);

-- As before (a finished event stays finished), and a `failed` finish always counts one failed answer.
create or replace function payguard.finish_event(p_provider text, p_event_id text, p_status text, p_error text, p_now timestamptz)
  returns void language plpgsql security definer set search_path = ''
as $$
begin
  if p_status not in ('processed', 'ignored', 'failed') then
    raise exception 'invalid inbox status %', p_status using errcode = 'P0001';
  end if;
  update payguard.webhook_events
     set status = case when status in ('processed', 'ignored') then status else p_status end,
         last_error = case when status in ('processed', 'ignored') then last_error else left(p_error, 500) end,
         finished_at = case when status in ('processed', 'ignored') then finished_at else p_now end,
         failed_answers = failed_answers + case when p_status = 'failed' then 1 else 0 end
   where provider = p_provider and event_id = p_event_id
     and (status not in ('processed', 'ignored') or p_status = 'failed');
end $$;

-- Internal: deliveries per provider of the events first received in [p_since, p_now). Per event: the attempt
-- that finished it (processed or ignored) succeeded; every other attempt failed, and at least as many failed
-- as payguard recorded failed answers. Not counted: a delivery answered while the database was unreachable
-- (nothing could be written), a redelivery of a finished event (answered 2xx as a duplicate), and requests
-- refused before the inbox (a bad signature). An event's later attempts count with its first receipt.
create function payguard._inbox_deliveries(p_since timestamptz, p_now timestamptz)
  returns table (provider text, events bigint, deliveries bigint, failed bigint)
  language sql stable security definer set search_path = ''
as $$
  select a.provider, count(*), sum(a.ok + a.bad)::bigint, sum(a.bad)::bigint
    from (select e.provider, k.ok, greatest(e.attempts - k.ok, e.failed_answers) as bad
            from payguard.webhook_events e,
                 lateral (select case when e.status in ('processed', 'ignored') then 1 else 0 end as ok) k
           where e.received_at >= p_since and e.received_at < p_now) a
   group by a.provider;
$$;

-- As before; callbacks now come from `_inbox_deliveries` (the same count as the overview's webhook success).
create or replace function payguard.threshold_stats(p_since timestamptz, p_now timestamptz)
  returns jsonb language sql stable security definer set search_path = ''
as $$
  select jsonb_build_object(
    'callbacks', (
      select coalesce(jsonb_object_agg(d.provider, jsonb_build_object('deliveries', d.deliveries, 'failed', d.failed)),
                      '{}'::jsonb)
        from payguard._inbox_deliveries(p_since, p_now) d),
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

-- As before, with webhook success over delivery attempts (`deliveries`, `failed`, `ok` = deliveries that
-- succeeded, `success_rate` = ok / deliveries; `received` = events) and open incidents by severity.
create or replace function payguard.admin_overview(p_since timestamptz, p_now timestamptz, p_bucket_seconds int)
  returns jsonb language sql stable security definer set search_path = ''
as $$
  with credited as (
    select o.source as path, o.paid_at, l.created_at as credited_at,
           extract(epoch from l.created_at - o.paid_at) * 1000 as latency_ms
      from payguard.credit_ledger l join payguard.payment_orders o on o.id = l.order_id
     where l.kind = 'purchase' and l.created_at between p_since and p_now and o.paid_at is not null
  ), buckets as (
    select generate_series(0, greatest(floor(extract(epoch from p_now - p_since) / greatest(p_bucket_seconds, 60))::int, 0)) as n
  )
  select jsonb_build_object(
    'since', p_since, 'until', p_now, 'bucket_seconds', greatest(p_bucket_seconds, 60),
    'orders_by_status', coalesce((select jsonb_object_agg(status, n) from (
        select status, count(*) as n from payguard.payment_orders
         where created_at between p_since and p_now group by status) s), '{}'::jsonb),
    'latency_ms_by_path', coalesce((select jsonb_object_agg(path, jsonb_build_object(
        'count', n, 'p50', p50, 'p95', p95)) from (
        select coalesce(path, 'unknown') as path, count(*) as n,
               round(percentile_cont(0.5) within group (order by greatest(latency_ms, 0))) as p50,
               round(percentile_cont(0.95) within group (order by greatest(latency_ms, 0))) as p95
          from credited group by path) p), '{}'::jsonb),
    'webhooks_by_provider', coalesce((select jsonb_object_agg(d.provider, jsonb_build_object(
        'received', d.events, 'deliveries', d.deliveries, 'failed', d.failed, 'ok', d.deliveries - d.failed,
        'success_rate', case when d.deliveries = 0 then null
                             else round((d.deliveries - d.failed)::numeric / d.deliveries, 4) end))
        from payguard._inbox_deliveries(p_since, p_now) d), '{}'::jsonb),
    'repaired_by_reconcile', (select count(*) from credited where path = 'reconcile'),
    'open_incidents', (select count(*) from payguard.incidents where status = 'open'),
    'incidents_by_severity', coalesce((select jsonb_object_agg(severity, n) from (
        select severity, count(*) as n from payguard.incidents where status = 'open' group by severity) i), '{}'::jsonb),
    'last_job_runs', coalesce((select jsonb_object_agg(job, to_jsonb(j) - 'job') from (
        select distinct on (job) * from payguard.job_runs order by job, started_at desc) j), '{}'::jsonb),
    'series', (select jsonb_agg(jsonb_build_object(
        'at', p_since + make_interval(secs => b.n * greatest(p_bucket_seconds, 60)),
        'payments', (select count(*) from credited c
                      where c.credited_at >= p_since + make_interval(secs => b.n * greatest(p_bucket_seconds, 60))
                        and c.credited_at < p_since + make_interval(secs => (b.n + 1) * greatest(p_bucket_seconds, 60))),
        'repairs', (select count(*) from credited c where c.path in ('reconcile', 'admin')
                      and c.credited_at >= p_since + make_interval(secs => b.n * greatest(p_bucket_seconds, 60))
                      and c.credited_at < p_since + make_interval(secs => (b.n + 1) * greatest(p_bucket_seconds, 60))))
        order by b.n) from buckets b)
  );
$$;

-- ==== needs attention ============================================================================
-- The orders that can hold a payment without credits, found without scanning every order: in review, or
-- rejected by an operator.
create index payment_orders_attention on payguard.payment_orders (updated_at)
  where status = 'needs_review' or review_resolution = 'reject';

-- Internal: "paid but not credited", one row per order and currency, or per held payment: money the customer
-- paid that reached payguard and credits nobody.
-- * An order with provider payments recorded (`order_payments`, any role) beyond what came back to the payer
--   (refunds that succeeded, disputes lost), that holds no purchase credits: no `purchase` grant (in review
--   because the unit sold out, the amount or currency did not match, or the references disagree), or an
--   operator rejected it (its credits taken back, the payment still to refund). `amount_minor` is what is
--   still paid, per currency of the payments; `since` the first payment.
-- * A payment held because its order was never written (`held_facts` kind `payment`); `since` when held.
-- No other state holds a payment without credits: a payment fulfils a pending, expired or failed order
-- (`late_payment`), and a fulfilled order without its grant is the audit's `fulfilled_without_grant`.
-- Not here: payments the database never recorded (an app hook that failed rolls the payment back: see the
-- open `app_hook_failed` incidents; a delivery that failed: see the inbox), and a second payment of a
-- credited order (in review, "paid twice").
create function payguard._paid_not_credited()
  returns table (kind text, order_id text, provider text, payment_ref text, status text, reason text,
                 currency text, amount_minor bigint, since timestamptz)
  language sql stable security definer set search_path = ''
as $$
  with candidates as (
    select o.id, o.provider, o.status, o.review_reason
      from payguard.payment_orders o
     where (o.status = 'needs_review' or o.review_resolution = 'reject')
       and (o.review_resolution = 'reject'
            or not exists (select 1 from payguard.credit_ledger l where l.order_id = o.id and l.kind = 'purchase'))
  ), paid as (
    select p.order_id, p.currency::text as currency, sum(p.amount_minor) as amount, min(p.paid_at) as since,
           min(p.payment_ref) as payment_ref
      from payguard.order_payments p join candidates c on c.id = p.order_id
     group by p.order_id, p.currency
  ), returned as (
    select x.order_id, x.currency, sum(x.amount) as amount
      from (select r.order_id, r.currency::text as currency, r.amount_minor as amount
              from payguard.payment_refunds r join candidates c on c.id = r.order_id
             where r.status = 'succeeded'
            union all
            select d.order_id, d.currency::text, d.amount_minor
              from payguard.payment_disputes d join candidates c on c.id = d.order_id
             where d.state = 'lost') x
     group by x.order_id, x.currency
  )
  select 'order', c.id, c.provider, p.payment_ref, c.status, c.review_reason, p.currency,
         (p.amount - coalesce(r.amount, 0))::bigint, p.since
    from candidates c
    join paid p on p.order_id = c.id
    left join returned r on r.order_id = c.id and r.currency = p.currency
   where p.amount - coalesce(r.amount, 0) > 0
  union all
  select 'held', h.order_id, h.provider, h.payment_ref, null, null, upper(h.fact ->> 'currency'),
         (h.fact ->> 'amount_minor')::bigint, h.held_at
    from payguard.held_facts h
   where h.kind = 'payment';
$$;

-- Internal: count and amount per currency of a set of (currency, amount) rows.
create function payguard._per_currency(p_rows jsonb) returns jsonb
  language sql immutable security definer set search_path = ''
as $$
  select coalesce(jsonb_agg(jsonb_build_object('currency', s.currency, 'count', s.n, 'amount_minor', s.amount)
                            order by s.currency), '[]'::jsonb)
    from (select r ->> 'currency' as currency, count(*) as n, sum((r ->> 'amount_minor')::bigint)::bigint as amount
            from jsonb_array_elements(p_rows) r group by r ->> 'currency') s;
$$;

-- What needs a person now (the overview's band), each with `count` and where it helps the oldest time or the
-- amounts per currency. `p_stuck_before`: an inbox event still `received` from before then is stuck (its
-- handler died half-way; src/admin/replay-events.ts INBOX_STUCK_AFTER_MS).
create function payguard.admin_attention(p_stuck_before timestamptz) returns jsonb
  language sql stable security definer set search_path = ''
as $$
  with unpaid as (
    select * from payguard._paid_not_credited()
  ), review as (
    select o.currency::text as currency, o.amount_minor, o.updated_at
      from payguard.payment_orders o where o.status = 'needs_review'
  ), open_incidents as (
    select i.kind, i.severity, i.opened_at from payguard.incidents i where i.status = 'open'
  ), inbox as (
    select e.status, e.received_at from payguard.webhook_events e
     where e.status = 'failed' or (e.status = 'received' and e.received_at < p_stuck_before)
  ), check_failed as (
    select o.last_check_at, o.last_check_error from payguard.payment_orders o
     where o.status = 'pending' and o.last_check_outcome = 'error'
  )
  select jsonb_build_object(
    'critical_incidents', (select jsonb_build_object('count', count(*), 'oldest_at', min(opened_at))
                             from open_incidents where severity = 'critical'),
    'paid_not_credited', (select jsonb_build_object(
        'count', count(distinct coalesce(u.order_id, u.provider || ':' || u.payment_ref)),
        'oldest_at', min(u.since),
        'amounts', payguard._per_currency(coalesce(jsonb_agg(jsonb_build_object(
          'currency', u.currency, 'amount_minor', u.amount_minor)), '[]'::jsonb)))
        from unpaid u),
    'in_review', (select jsonb_build_object('count', count(*), 'oldest_at', min(updated_at),
        'amounts', payguard._per_currency(coalesce(jsonb_agg(jsonb_build_object(
          'currency', currency, 'amount_minor', amount_minor)), '[]'::jsonb)))
        from review),
    'app_hook_failed', (select jsonb_build_object('count', count(*), 'oldest_at', min(opened_at))
                          from open_incidents where kind = 'app_hook_failed'),
    'inbox', (select jsonb_build_object('count', count(*), 'failed', count(*) filter (where status = 'failed'),
                                        'stuck', count(*) filter (where status = 'received'),
                                        'oldest_at', min(received_at))
                from inbox),
    'check_failed', (select jsonb_build_object('count', count(*), 'oldest_at', min(last_check_at),
                                               'last_error', (select c.last_check_error from check_failed c
                                                               order by c.last_check_at desc limit 1))
                       from check_failed));
$$;

-- The payments behind "paid but not credited", oldest first, at most `p_limit` (1–200).
create function payguard.admin_paid_not_credited(p_limit int) returns jsonb
  language sql stable security definer set search_path = ''
as $$
  select coalesce(jsonb_agg(to_jsonb(u) order by u.since, u.order_id, u.payment_ref), '[]'::jsonb)
    from (select * from payguard._paid_not_credited() order by since, order_id, payment_ref
           limit least(greatest(p_limit, 1), 200)) u;
$$;

select payguard._secure_functions();
