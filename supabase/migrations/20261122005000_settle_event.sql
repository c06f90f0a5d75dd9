-- One provider event in one transaction: the inbox row (guard 1), the order it names, each fact through the
-- same settlement functions every other path uses (same locks, held facts, app hook), and the inbox finish.
-- A second delivery of the same event waits on the inbox row's unique key while the first is in flight and
-- is then answered `duplicate`. The row is finished here only when every outcome is one the caller marked
-- quiet (p_quiet_outcomes) and no order ended in one of p_loud_statuses: anything that needs an incident
-- first is committed unfinished, and the caller finishes it (finish_event) once the incident is stored.
-- Any error (the app hook's P0H01 included) rolls back the whole event, inbox row too: the provider retries.
--
-- p_locator: {"by": "session" | "payment" | null, "ref": ..., "claimed_order_id": ...}; the order payguard
-- stored for that provider object wins over the one the event claims.
-- p_facts: [{"kind", "order_id", "payment_ref", "amount_minor", "discount_minor", "currency", "paid_at",
-- "provider_ref", "metadata", "refund_ref", "reason"}], each field as its settlement function takes it.
-- Answers {"status": "duplicate"}, {"status": "unlocated"} (a fact needs an order and none is known; the
-- row stays unfinished) or {"status": "settled", "finished": bool, "results": [{outcome, order, order_id}]}.

create function payguard._settle_fact(p_fact jsonb, p_order_id text, p_source text, p_now timestamptz)
  returns jsonb language plpgsql security definer set search_path = ''
as $$
declare
  provider text := p_fact ->> 'provider';
  checked jsonb;
begin
  case p_fact ->> 'kind'
    when 'paid' then
      return payguard.apply_payment(provider, p_order_id, p_fact ->> 'payment_ref',
        (p_fact ->> 'amount_minor')::bigint, p_fact ->> 'currency', (p_fact ->> 'paid_at')::timestamptz, p_source,
        p_now, nullif(p_fact -> 'metadata', 'null'::jsonb), coalesce((p_fact ->> 'discount_minor')::bigint, 0),
        p_fact ->> 'provider_ref');
    when 'refunded' then
      return payguard.apply_refund(provider, p_order_id, p_fact ->> 'refund_ref', (p_fact ->> 'amount_minor')::bigint,
        p_fact ->> 'currency', p_source, p_now, p_fact ->> 'payment_ref');
    when 'refund_failed' then
      return payguard.fail_refund(provider, p_fact ->> 'refund_ref', p_source, p_now);
    when 'failed' then
      return payguard.fail_order(p_order_id, p_fact ->> 'reason', p_now);
    when 'expired' then
      return payguard.expire_order(p_order_id, provider || ' reports expired', p_now);
    when 'mismatch' then
      return payguard.flag_order(p_order_id, p_fact ->> 'reason', p_now);
    when 'pending' then
      checked := payguard.record_check(p_order_id, p_now);
      if checked ->> 'id' is null then
        return jsonb_build_object('outcome', 'unknown_order', 'order', null);
      end if;
      return jsonb_build_object('outcome', 'still_pending', 'order', checked);
    else
      raise exception 'unknown fact kind %', p_fact ->> 'kind' using errcode = 'P0001';
  end case;
end $$;

create function payguard.settle_event(
  p_provider text, p_event_id text, p_event_type text, p_locator jsonb, p_facts jsonb, p_source text,
  p_now timestamptz, p_quiet_outcomes text[], p_loud_statuses text[], p_note text default null
) returns jsonb language plpgsql security definer set search_path = ''
as $$
declare
  claimed text := p_locator ->> 'claimed_order_id';
  located text;
  fact jsonb;
  fact_order text;
  applied jsonb;
  results jsonb := '[]'::jsonb;
  quiet boolean := true;
begin
  if jsonb_typeof(p_facts) is distinct from 'array' then
    raise exception 'p_facts must be a JSON array' using errcode = 'P0001';
  end if;
  if payguard.record_event(p_provider, p_event_id, p_event_type, claimed, p_now) ->> 'status' = 'duplicate' then
    return jsonb_build_object('status', 'duplicate');
  end if;
  located := case p_locator ->> 'by'
    when 'session' then (select o.id from payguard.payment_orders o
                          where o.provider = p_provider and o.provider_ref = p_locator ->> 'ref')
    when 'payment' then (select o.id from payguard.payment_orders o
                          where o.provider = p_provider and o.payment_ref = p_locator ->> 'ref')
  end;
  located := coalesce(located, claimed);
  if exists (select 1 from jsonb_array_elements(p_facts) f
              where f ->> 'kind' not in ('refunded', 'refund_failed') and coalesce(f ->> 'order_id', located) is null) then
    return jsonb_build_object('status', 'unlocated');
  end if;
  for fact in select f from jsonb_array_elements(p_facts) f loop
    fact_order := coalesce(fact ->> 'order_id', located);
    applied := payguard._settle_fact(fact, fact_order, p_source, p_now);
    results := results || jsonb_build_array(applied || jsonb_build_object('order_id', fact_order));
    quiet := quiet and (applied ->> 'outcome') = any(p_quiet_outcomes)
                   and coalesce(applied -> 'order' ->> 'status', '') <> all(p_loud_statuses);
  end loop;
  if quiet then
    perform payguard.finish_event(p_provider, p_event_id,
      case when jsonb_array_length(p_facts) = 0 then 'ignored' else 'processed' end, p_note, p_now);
  end if;
  return jsonb_build_object('status', 'settled', 'finished', quiet, 'results', results);
end $$;

-- apply_refund, unchanged but for one check: whether the refund is already recorded is asked again once the
-- payment's key and the order row are locked. Before, two copies of one refund on separate connections
-- (charge.refunded and refund.created, which the inbox lets through as different events) could both pass
-- the first check, and the second then counted the refund twice: `exceeds_grant`, order in review.
create or replace function payguard.apply_refund(
  p_provider text, p_order_id text, p_refund_ref text, p_amount_minor bigint, p_currency text,
  p_source text, p_now timestamptz, p_payment_ref text default null
) returns jsonb language plpgsql security definer set search_path = ''
as $$
declare
  o payguard.payment_orders;
  target_order text := p_order_id;
  recorded text;
  refund jsonb := jsonb_build_object('refund_ref', p_refund_ref, 'amount_minor', p_amount_minor,
                                     'currency', upper(p_currency), 'provider', p_provider, 'payment_ref', p_payment_ref);
begin
  if exists (select 1 from payguard.payment_refunds where provider = p_provider and refund_ref = p_refund_ref) then
    select o2.* into o from payguard.payment_orders o2 join payguard.payment_refunds r on r.order_id = o2.id
     where r.provider = p_provider and r.refund_ref = p_refund_ref;
    return jsonb_build_object('outcome', 'duplicate', 'order', to_jsonb(o));
  end if;
  if p_payment_ref is not null then
    perform payguard._lock_key('payment:' || p_provider || ':' || p_payment_ref);
    select order_id into target_order from payguard.order_payments where provider = p_provider and payment_ref = p_payment_ref;
    target_order := coalesce(target_order, p_order_id);
  end if;
  select * into o from payguard.payment_orders where id = target_order for update;
  if o.id is null and target_order is not null then
    perform payguard._lock_key('order:' || target_order);
    select * into o from payguard.payment_orders where id = target_order for update;
  end if;
  -- Checked again under the locks: a copy of this refund (another event family, another connection) may
  -- have recorded it while this call waited for them.
  if exists (select 1 from payguard.payment_refunds where provider = p_provider and refund_ref = p_refund_ref) then
    return jsonb_build_object('outcome', 'duplicate', 'order', to_jsonb(o));
  end if;
  if o.id is null
     or (p_payment_ref is null and not exists (select 1 from payguard.order_payments where order_id = o.id))
     or (p_payment_ref is not null
         and not exists (select 1 from payguard.order_payments where provider = p_provider and payment_ref = p_payment_ref)) then
    -- The payment it refunds has not been seen yet: held, applied with that payment.
    return jsonb_build_object('outcome',
      payguard._hold(p_provider, 'refund', p_refund_ref, coalesce(o.id, target_order), p_payment_ref, refund, p_now), 'order', to_jsonb(o));
  end if;
  recorded := payguard._record_refund(o, refund, p_source, p_now);
  o := payguard._sync_order(o.id, p_source, p_now);
  -- `recorded`: kept but claws nothing back (it refunds another payment of the order).
  return jsonb_build_object('outcome', case when recorded <> 'recorded' then recorded
                                            when o.status in ('needs_review', 'refunded', 'partially_refunded') then o.status
                                            else 'recorded' end,
                            'order', to_jsonb(o));
end $$;
