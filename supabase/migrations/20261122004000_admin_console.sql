-- Operator console: who did what, when and why (admin_actions), and the read models the admin API and
-- dashboard show (order search, full order detail, overview for a window). Reads only payguard's tables.
create table payguard.admin_actions (
  id bigint generated always as identity primary key,
  actor text not null check (actor ~ '^[A-Za-z0-9_.-]{1,64}$'),
  action text not null,
  order_id text,
  target text,
  reason text not null,
  outcome text not null,
  detail jsonb not null default '{}'::jsonb,
  at timestamptz not null
);
create index admin_actions_recent on payguard.admin_actions (at desc);
create index admin_actions_order on payguard.admin_actions (order_id, at) where order_id is not null;
alter table payguard.admin_actions enable row level security;
revoke all on payguard.admin_actions from public, anon, authenticated, service_role;

-- Attribution for every mutating admin call; an action on an order also lands on its timeline.
create function payguard.record_admin_action(
  p_actor text, p_action text, p_order_id text, p_target text, p_reason text, p_outcome text, p_detail jsonb,
  p_now timestamptz
) returns bigint language plpgsql security definer set search_path = ''
as $$
declare
  new_id bigint;
begin
  insert into payguard.admin_actions (actor, action, order_id, target, reason, outcome, detail, at)
  values (p_actor, p_action, p_order_id, p_target, p_reason, p_outcome, coalesce(p_detail, '{}'::jsonb), p_now)
  returning id into new_id;
  if p_order_id is not null and exists (select 1 from payguard.payment_orders where id = p_order_id) then
    perform payguard._order_event(p_order_id, p_now, 'admin_' || p_action, 'admin',
      jsonb_build_object('actor', p_actor, 'reason', p_reason, 'outcome', p_outcome) || coalesce(p_detail, '{}'::jsonb));
  end if;
  return new_id;
end $$;

-- Search by id / provider reference / payment reference (p_query), user, status, provider and creation date.
create function payguard.admin_search_orders(
  p_query text, p_user_id uuid, p_status text, p_provider text, p_from timestamptz, p_to timestamptz,
  p_limit int, p_offset int
) returns jsonb language sql stable security definer set search_path = ''
as $$
  with matched as (
    select * from payguard.payment_orders o
     where (p_query is null or o.id = p_query or o.provider_ref = p_query or o.payment_ref = p_query)
       and (p_user_id is null or o.user_id = p_user_id)
       and (p_status is null or o.status = p_status)
       and (p_provider is null or o.provider = p_provider)
       and (p_from is null or o.created_at >= p_from)
       and (p_to is null or o.created_at < p_to)
  )
  select jsonb_build_object(
    'total', (select count(*) from matched),
    'orders', coalesce((select jsonb_agg(to_jsonb(page) order by page.created_at desc, page.id)
                          from (select * from matched order by created_at desc, id
                                 limit least(greatest(p_limit, 1), 200) offset greatest(p_offset, 0)) page), '[]'::jsonb));
$$;

-- Everything known about one order: timeline, provider events received, ledger rows, refunds, incidents
-- that name it, operator actions, and the user's balance next to the ledger sum.
create function payguard.admin_order_detail(p_order_id text) returns jsonb
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

-- The dashboard's overview for [p_since, p_now]: status counts, paid → credited latency by settle path,
-- webhook success per provider, repairs, incidents, last run per job, and a time series in p_bucket_seconds.
create function payguard.admin_overview(p_since timestamptz, p_now timestamptz, p_bucket_seconds int)
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
    'webhooks_by_provider', coalesce((select jsonb_object_agg(provider, jsonb_build_object(
        'received', n, 'ok', good, 'success_rate', case when n = 0 then null else round(good::numeric / n, 4) end)) from (
        select provider, count(*) as n, count(*) filter (where status in ('processed', 'ignored')) as good
          from payguard.webhook_events where received_at between p_since and p_now group by provider) w), '{}'::jsonb),
    'repaired_by_reconcile', (select count(*) from credited where path = 'reconcile'),
    'open_incidents', (select count(*) from payguard.incidents where status = 'open'),
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
