-- A refund's copy no longer deadlocks with that refund's failure. The failure locks the refund, then the order row
-- when it finds the refund committed meanwhile; a copy of the refund that got the order row after that commit
-- waited for the refund's lock before seeing it was a duplicate (Postgres aborted one of the two, 40P01, so the
-- provider retried: nothing lost, a retry wasted; the settlement property test logged 1 to 5 per 5,000 cases).
-- The copy now sees the committed refund under the order row lock and answers duplicate without the refund lock.
create or replace function payguard._record_refund(o payguard.payment_orders, p_fact jsonb, p_source text, p_now timestamptz)
  returns text language plpgsql security definer set search_path = ''
as $$
declare
  ref text := p_fact ->> 'refund_ref';
  v_provider text := coalesce(p_fact ->> 'provider', o.provider);
  failed boolean;
begin
  -- Asked first under the order's row lock alone: a copy that got the row after the refund committed answers
  -- duplicate without waiting for the refund's own lock, which a concurrent failure of it may hold.
  if exists (select 1 from payguard.payment_refunds where provider = v_provider and refund_ref = ref) then
    return 'duplicate';
  end if;
  perform payguard._lock_fact(v_provider, 'refund', ref);
  if exists (select 1 from payguard.payment_refunds where provider = v_provider and refund_ref = ref) then
    return 'duplicate';
  end if;
  if coalesce((p_fact ->> 'amount_minor')::bigint, 0) <= 0 then
    raise exception 'refund % has no positive amount', ref using errcode = 'P0001';
  end if;
  failed := exists (select 1 from payguard.refund_failures where provider = v_provider and refund_ref = ref);
  insert into payguard.payment_refunds (provider, refund_ref, order_id, payment_ref, amount_minor, currency, status, applied_at)
  values (v_provider, ref, o.id, p_fact ->> 'payment_ref', (p_fact ->> 'amount_minor')::bigint,
          upper(p_fact ->> 'currency'), case when failed then 'failed' else 'succeeded' end, p_now);
  perform payguard._order_event(o.id, p_now, case when failed then 'refund_failed' else 'refunded' end, p_source, p_fact);
  if exists (select 1 from payguard.order_events where order_id = o.id and kind = 'refund_awaited') then
    perform payguard._resolve('refund_awaited:' || o.id, p_now);
  end if;
  return case when failed then 'refund_failed' else 'recorded' end;
end $$;

select payguard._secure_functions();
