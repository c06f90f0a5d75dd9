-- Non-payment transitions and the reconcile lease. Only a pending order may expire or fail; terminal
-- states never regress (a payment for an expired order still wins, through apply_payment).

-- Records one provider check of a pending order and schedules the next on the reconcile backoff
-- (1, 2, 5, 10, 20, 30 min, then every 30 min), never later than the order's expiry, so the tick at
-- expiry closes it at the provider. `p_delay_seconds` overrides the schedule (USERPAYING: check soon).
create function payguard.record_check(p_order_id text, p_now timestamptz, p_delay_seconds int default null)
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
     set check_attempts = o.check_attempts + 1, updated_at = p_now, next_check_at = next_at
   where id = o.id returning * into o;
  return to_jsonb(o);
end $$;

create function payguard._transition(p_order_id text, p_to text, p_reason text, p_now timestamptz) returns jsonb
  language plpgsql security definer set search_path = ''
as $$
declare
  o payguard.payment_orders;
begin
  select * into o from payguard.payment_orders where id = p_order_id for update;
  if not found then
    return jsonb_build_object('outcome', 'noop', 'order', null);
  end if;
  if p_to = 'needs_review' then
    if o.status = 'needs_review' then
      return jsonb_build_object('outcome', 'noop', 'order', to_jsonb(o));
    end if;
    o := payguard._flag(o, p_reason, null, p_now, null);
    return jsonb_build_object('outcome', 'needs_review', 'order', to_jsonb(o));
  end if;
  if o.status <> 'pending' then
    return jsonb_build_object('outcome', 'noop', 'order', to_jsonb(o));
  end if;
  update payguard.payment_orders set status = p_to, next_check_at = null, updated_at = p_now
   where id = o.id returning * into o;
  perform payguard._order_event(o.id, p_now, p_to, null, jsonb_build_object('reason', p_reason));
  return jsonb_build_object('outcome', p_to, 'order', to_jsonb(o));
end $$;

create function payguard.expire_order(p_order_id text, p_reason text, p_now timestamptz) returns jsonb
  language sql security definer set search_path = ''
as $$ select payguard._transition(p_order_id, 'expired', p_reason, p_now) $$;

create function payguard.fail_order(p_order_id text, p_reason text, p_now timestamptz) returns jsonb
  language sql security definer set search_path = ''
as $$ select payguard._transition(p_order_id, 'failed', p_reason, p_now) $$;

create function payguard.flag_order(p_order_id text, p_reason text, p_now timestamptz) returns jsonb
  language sql security definer set search_path = ''
as $$ select payguard._transition(p_order_id, 'needs_review', p_reason, p_now) $$;

-- Hands out due pending orders and pushes their next check forward, so overlapping cron runs never
-- work the same order: rows another run holds are skipped, rows it leased are no longer due.
create function payguard.lease_due_orders(p_limit int, p_lease_seconds int, p_now timestamptz, p_provider text default null)
  returns jsonb language plpgsql security definer set search_path = ''
as $$
declare
  leased jsonb;
begin
  with due as (
    select id from payguard.payment_orders
     where status = 'pending' and next_check_at <= p_now and (p_provider is null or provider = p_provider)
     order by next_check_at, id
     limit least(greatest(p_limit, 0), 1000)
     for update skip locked
  ), updated as (
    update payguard.payment_orders o set next_check_at = p_now + make_interval(secs => p_lease_seconds)
      from due where o.id = due.id
    returning o.*
  )
  select coalesce(jsonb_agg(to_jsonb(updated) order by updated.created_at), '[]'::jsonb) into leased from updated;
  return leased;
end $$;

-- Operator decision on an order in review. Every fact recorded meanwhile is kept, so the result is
-- what those facts imply: `fulfil` credits the recorded payment (the earliest matching one; never a
-- made-up reference: with no payment recorded there is nothing to fulfil) and keeps its refunds; another
-- matching payment is named in an incident for a human to refund. `reject` leaves no purchase credits.
create function payguard.resolve_review(p_order_id text, p_resolution text, p_note text, p_now timestamptz)
  returns jsonb language plpgsql security definer set search_path = ''
as $$
declare
  o payguard.payment_orders;
  keep record;
  to_refund text[];
begin
  if p_resolution not in ('fulfil', 'reject') then
    raise exception 'resolution must be fulfil or reject' using errcode = 'P0001';
  end if;
  select * into o from payguard.payment_orders where id = p_order_id for update;
  if not found or o.status <> 'needs_review' then
    return jsonb_build_object('outcome', 'noop', 'order', to_jsonb(o));
  end if;
  if p_resolution = 'fulfil' then
    select * into keep from payguard.order_payments
     where order_id = o.id and amount_minor + discount_minor = o.amount_minor and currency = o.currency
     order by paid_at, payment_ref limit 1;
    if not found then
      raise exception 'order % has no recorded payment of its amount to fulfil it with', o.id using errcode = 'P0001';
    end if;
    update payguard.order_payments set role = case when payment_ref = keep.payment_ref then 'primary' else 'second' end
     where order_id = o.id and role in ('primary', 'second', 'disputed')
       and amount_minor + discount_minor = o.amount_minor and currency = o.currency;
    update payguard.payment_orders
       set status = 'fulfilled', review_reason = null, review_resolution = 'fulfil', payment_ref = keep.payment_ref,
           paid_at = keep.paid_at, discount_minor = keep.discount_minor, updated_at = p_now
     where id = o.id returning * into o;
    perform payguard._release_held_refunds(o, 'admin', p_now);
    select array_agg(payment_ref order by payment_ref) into to_refund from payguard.order_payments
     where order_id = o.id and role <> 'primary';
    if to_refund is not null then
      perform payguard.open_incident('refund_other_payments:' || o.id, 'refund_other_payments', 'critical',
        format('Order %s was paid more than once: refund %s', o.id, array_to_string(to_refund, ', ')),
        jsonb_build_object('order_id', o.id, 'keep', keep.payment_ref, 'refund', to_jsonb(to_refund)), p_now);
    end if;
  else
    update payguard.payment_orders set status = 'failed', review_reason = null, review_resolution = 'reject', updated_at = p_now
     where id = o.id returning * into o;
  end if;
  o := payguard._sync_order(o.id, 'admin', p_now);
  perform payguard._order_event(o.id, p_now, 'review_resolved', 'admin',
    jsonb_build_object('resolution', p_resolution, 'note', p_note));
  return jsonb_build_object('outcome', o.status, 'order', to_jsonb(o));
end $$;
