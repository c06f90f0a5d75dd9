-- Weekly report: the figures for one window [p_from, p_to) (src/ops/weekly-report.ts turns them into a
-- message and the console page), and the record of which weeks were sent, so the hourly cron posts each
-- week's report once however often it runs.
create table payguard.weekly_reports (
  week_start date primary key,
  time_zone text not null,
  figures jsonb not null,
  sent_at timestamptz not null
);
alter table payguard.weekly_reports enable row level security;
revoke all on payguard.weekly_reports from public, anon, authenticated, service_role;

-- payments: orders paid in the window, per currency (count, amount). credits: ledger entries in the window.
-- latency: purchase grants in the window, paid → credited in ms, p50 / p95 (percentile_disc: a real sample),
--   by the path that settled the order (webhook, reconcile, confirm, admin).
-- repaired: payments recorded by a path other than the callback, and grants repaired, by event kind and path.
-- incidents: opened and resolved in the window; still_open: everything open at p_to (newest 20 listed).
create function payguard.weekly_report(p_from timestamptz, p_to timestamptz)
  returns jsonb language sql stable security definer set search_path = ''
as $$
  select jsonb_build_object(
    'from', p_from, 'to', p_to,
    'orders_created', (select count(*) from payguard.payment_orders where created_at >= p_from and created_at < p_to),
    'payments', (
      select coalesce(jsonb_agg(jsonb_build_object('currency', currency, 'count', n, 'amount_minor', amount)
                                order by currency), '[]'::jsonb)
        from (select currency::text, count(*) as n, sum(amount_minor)::bigint as amount
                from payguard.payment_orders
               where paid_at >= p_from and paid_at < p_to
               group by currency) p),
    'credits', (
      select jsonb_build_object(
               'granted', coalesce(sum(credits) filter (where kind = 'purchase'), 0),
               'clawed_back', coalesce(-sum(credits) filter (where kind = 'clawback'), 0),
               'adjusted', coalesce(sum(credits) filter (where kind = 'adjustment'), 0))
        from payguard.credit_ledger where created_at >= p_from and created_at < p_to),
    'latency', (
      select coalesce(jsonb_agg(jsonb_build_object('path', path, 'count', n, 'p50_ms', p50, 'p95_ms', p95)
                                order by path), '[]'::jsonb)
        from (select coalesce(o.source, 'unknown') as path, count(*) as n,
                     percentile_disc(0.5) within group (order by extract(epoch from l.created_at - o.paid_at) * 1000)::bigint as p50,
                     percentile_disc(0.95) within group (order by extract(epoch from l.created_at - o.paid_at) * 1000)::bigint as p95
                from payguard.credit_ledger l join payguard.payment_orders o on o.id = l.order_id
               where l.kind = 'purchase' and l.created_at >= p_from and l.created_at < p_to and o.paid_at is not null
               group by 1) t),
    'repaired', (
      select coalesce(jsonb_agg(jsonb_build_object('kind', kind, 'path', path, 'count', n) order by kind, path),
                      '[]'::jsonb)
        from (select kind, coalesce(source, 'unknown') as path, count(distinct order_id) as n
                from payguard.order_events
               where at >= p_from and at < p_to
                 and (kind in ('created_from_metadata', 'grant_repaired')
                      or (kind in ('paid', 'late_payment') and coalesce(source, '') <> 'webhook'))
               group by 1, 2) r),
    'incidents', jsonb_build_object(
      'opened', (select count(*) from payguard.incidents where opened_at >= p_from and opened_at < p_to),
      'resolved', (select count(*) from payguard.incidents where resolved_at >= p_from and resolved_at < p_to)),
    'still_open', jsonb_build_object(
      'count', (select count(*) from payguard.incidents
                 where opened_at < p_to and (resolved_at is null or resolved_at >= p_to)),
      'newest', (select coalesce(jsonb_agg(jsonb_build_object('key', key, 'severity', severity, 'summary', summary,
                                                              'opened_at', opened_at) order by opened_at desc), '[]'::jsonb)
                   from (select key, severity, summary, opened_at from payguard.incidents
                          where opened_at < p_to and (resolved_at is null or resolved_at >= p_to)
                          order by opened_at desc limit 20) s)));
$$;

-- Claims a week before its report is posted: true for the first caller only. A post that fails is released
-- so the next hourly run tries again.
create function payguard.claim_weekly_report(p_week_start date, p_time_zone text, p_figures jsonb, p_now timestamptz)
  returns boolean language plpgsql security definer set search_path = ''
as $$
begin
  insert into payguard.weekly_reports (week_start, time_zone, figures, sent_at)
  values (p_week_start, p_time_zone, p_figures, p_now)
  on conflict (week_start) do nothing;
  return found;
end $$;

create function payguard.release_weekly_report(p_week_start date)
  returns void language sql security definer set search_path = ''
as $$
  delete from payguard.weekly_reports where week_start = p_week_start;
$$;
