-- The console's incident page and triage list, for the person an alert woke up: one incident by key with the
-- orders it is about (amount, status), the other open incidents about the same orders, and the list sorted
-- worst first (severity, then the oldest open) with each incident's orders, so the list can group by order
-- and show amounts without a call per row.
--
-- Which orders an incident is about: every order whose id appears as a `:`-separated part of its key
-- (`needs_review:<order>`, `bill_missing_here:<order>`, `audit:pending_past_expiry:<order>`) or in a detail
-- field that names one (`order_id`, the bill's `orderId`, `first_order_id`, the audit's `subject`). Only ids
-- of stored orders come back: an order that does not exist (an `app_hook_failed` settlement rolled its
-- creation back) is the caller's to say.

-- Lookups by key of any status (the page of a resolved incident); the open one already has a unique index.
create index if not exists incidents_by_key on payguard.incidents (key, opened_at desc);

-- Internal: the candidate order ids of an incident (not checked against payment_orders).
create function payguard._incident_order_ids(p_key text, p_detail jsonb) returns text[]
  language sql immutable security definer set search_path = ''
as $$
  select coalesce(array_agg(distinct candidate), '{}'::text[])
    from (select unnest(string_to_array(p_key, ':')) as candidate
          union all select p_detail ->> 'order_id'
          union all select p_detail ->> 'orderId'
          union all select p_detail ->> 'first_order_id'
          union all select p_detail ->> 'subject') c
   where candidate is not null and candidate <> '';
$$;

-- Internal: the stored orders an incident is about, oldest first, as the console shows them.
create function payguard._incident_orders(p_key text, p_detail jsonb) returns jsonb
  language sql stable security definer set search_path = ''
as $$
  select coalesce(jsonb_agg(jsonb_build_object(
           'id', o.id, 'status', o.status, 'provider', o.provider, 'user_id', o.user_id, 'package_id', o.package_id,
           'amount_minor', o.amount_minor, 'currency', o.currency, 'credits', o.credits,
           'refunded_minor', o.refunded_minor, 'payment_ref', o.payment_ref, 'provider_ref', o.provider_ref,
           'review_reason', o.review_reason, 'paid_at', o.paid_at, 'created_at', o.created_at)
           order by o.created_at, o.id), '[]'::jsonb)
    from payguard.payment_orders o
   where o.id = any(payguard._incident_order_ids(p_key, p_detail));
$$;

-- One incident by key: the open one, else the latest; null when the key was never seen.
-- {"incident": row, "orders": [...], "earlier": how many other rows had this key (resolved before),
--  "related": the other open incidents about the same orders, stored or named by `order_id` / `orderId`
--  (key, kind, severity, status, summary, detail, opened_at)}.
create function payguard.admin_incident(p_key text) returns jsonb
  language sql stable security definer set search_path = ''
as $$
  with found as (
    select * from payguard.incidents where key = p_key
     order by (status = 'open') desc, opened_at desc, id desc limit 1
  ), mine as (
    select array(select o.id from payguard.payment_orders o
                  where o.id = any(payguard._incident_order_ids(f.key, f.detail))
                 union
                 select v from (values (f.detail ->> 'order_id'), (f.detail ->> 'orderId')) x (v)
                  where v is not null) as ids
      from found f
  )
  select jsonb_build_object(
           'incident', to_jsonb(f),
           'orders', payguard._incident_orders(f.key, f.detail),
           'earlier', (select count(*) from payguard.incidents e where e.key = p_key and e.id <> f.id),
           'related', coalesce((
             select jsonb_agg(jsonb_build_object('key', r.key, 'kind', r.kind, 'severity', r.severity,
                                                 'status', r.status, 'summary', r.summary, 'detail', r.detail,
                                                 'opened_at', r.opened_at)
                              order by r.opened_at, r.id)
               from payguard.incidents r
              where r.status = 'open' and r.key <> f.key
                and payguard._incident_order_ids(r.key, r.detail) && m.ids), '[]'::jsonb))
    from found f, mine m;
$$;

-- Internal: how bad an incident is, worst first.
create function payguard._severity_rank(p_severity text) returns int
  language sql immutable security definer set search_path = ''
as $$ select case p_severity when 'critical' then 0 when 'warning' then 1 else 2 end $$;

-- The triage list: open incidents first, worst severity first, then the oldest (the one waiting longest);
-- resolved ones after, the latest resolved first. Each row with its stored orders (`orders`).
-- p_status / p_severity null = any; at most 500 rows.
create function payguard.admin_incident_list(p_status text, p_severity text, p_limit int) returns jsonb
  language sql stable security definer set search_path = ''
as $$
  select coalesce(jsonb_agg((to_jsonb(i) - 'rank') || jsonb_build_object('orders', payguard._incident_orders(i.key, i.detail))
                            order by i.rank), '[]'::jsonb)
    from (select x.*, row_number() over (
                   order by (x.status = 'open') desc, payguard._severity_rank(x.severity),
                            case when x.status = 'open' then x.opened_at end, x.resolved_at desc nulls last, x.id)
                   as rank
            from payguard.incidents x
           where (p_status is null or x.status = p_status) and (p_severity is null or x.severity = p_severity)
           order by rank limit least(greatest(p_limit, 1), 500)) i;
$$;

select payguard._secure_functions();
