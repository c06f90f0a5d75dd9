-- What the scheduled jobs ask the ledger besides leasing and settling: which incidents of a kind are
-- open (so a finding no longer seen is resolved), and whether payments are reaching us only through
-- re-queries (callbacks that never arrived).

create function payguard.list_open_incident_keys(p_prefix text) returns jsonb
  language sql stable security definer set search_path = ''
as $$
  select coalesce(jsonb_agg(key order by key), '[]'::jsonb)
    from payguard.incidents
   where status = 'open' and left(key, length(p_prefix)) = p_prefix;
$$;

-- Orders of a provider credited by the reconcile re-query since p_since, at least p_delay_seconds after
-- the provider says they were paid: their callback never arrived in time. Count and the oldest one.
create function payguard.callback_gaps(p_provider text, p_since timestamptz, p_delay_seconds int)
  returns jsonb language sql stable security definer set search_path = ''
as $$
  with gaps as (
    select o.id, o.paid_at
      from payguard.order_events e join payguard.payment_orders o on o.id = e.order_id
     where o.provider = p_provider and e.kind in ('paid', 'late_payment') and e.source = 'reconcile'
       and e.at >= p_since and e.at - o.paid_at >= make_interval(secs => p_delay_seconds)
  )
  select jsonb_build_object(
    'count', (select count(*) from gaps),
    'first_order_id', (select id from gaps order by paid_at, id limit 1));
$$;
