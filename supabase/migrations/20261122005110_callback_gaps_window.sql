-- callback_gaps counts within a closed window [p_since, p_until): without the upper bound, re-queried
-- payments recorded after the check's own "now" (a clock behind, or rows written for a later time)
-- would keep "WeChat notifications are not arriving" open forever.
drop function payguard.callback_gaps(text, timestamptz, int);

create function payguard.callback_gaps(
  p_provider text,
  p_since timestamptz,
  p_until timestamptz,
  p_delay_seconds int
)
  returns jsonb language sql stable security definer set search_path = ''
as $$
  with gaps as (
    select o.id, o.paid_at
      from payguard.order_events e join payguard.payment_orders o on o.id = e.order_id
     where o.provider = p_provider and e.kind in ('paid', 'late_payment') and e.source = 'reconcile'
       and e.at >= p_since and e.at < p_until
       and e.at - o.paid_at >= make_interval(secs => p_delay_seconds)
  )
  select jsonb_build_object(
    'count', (select count(*) from gaps),
    'first_order_id', (select id from gaps order by paid_at, id limit 1));
$$;
