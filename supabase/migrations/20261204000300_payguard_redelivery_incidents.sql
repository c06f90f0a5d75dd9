-- A redelivery hands over the incidents its first delivery left undelivered. When the worker gave up on the first
-- delivery (a timeout) while the database committed it, the provider's retry was a quiet `duplicate` and the
-- incident waited for the cron drain; the 10,000-order chaos run ended once before that drain ran. Now the
-- duplicate answer carries the order's outbox rows that no drain holds, and the worker delivers them at once.

-- Internal: the order payguard stored for the event's provider object (session or payment), if any.
create function payguard._located(p_provider text, p_locator jsonb) returns text
  language sql stable security definer set search_path = ''
as $$
  select case p_locator ->> 'by'
    when 'session' then (select o.id from payguard.payment_orders o
                          where o.provider = p_provider and o.provider_ref = p_locator ->> 'ref')
    when 'payment' then (select o.id from payguard.payment_orders o
                          where o.provider = p_provider and o.payment_ref = p_locator ->> 'ref')
  end;
$$;

-- Internal: `p_result` with the order's outbox rows nobody is delivering (`incidents`), when there are any.
create function payguard._undelivered_incidents(p_result jsonb, p_order_id text, p_now timestamptz) returns jsonb
  language sql stable security definer set search_path = ''
as $$
  select case when p_order_id is null or queued is null then p_result
              else p_result || jsonb_build_object('incidents', queued) end
    from (select jsonb_agg(payguard._outbox_row(x) order by x.id) as queued from payguard.incident_outbox x
           where (x.key like '%:' || p_order_id or x.detail ->> 'order_id' = p_order_id)
             and (x.leased_until is null or x.leased_until <= p_now)) q;
$$;

create or replace function payguard.settle_event(
  p_provider text, p_event_id text, p_event_type text, p_locator jsonb, p_facts jsonb, p_source text,
  p_now timestamptz, p_note text default null
) returns jsonb language plpgsql security definer set search_path = ''
as $$
declare
  claimed text := p_locator ->> 'claimed_order_id';
  located text;
  fact jsonb;
  fact_order text;
  applied jsonb;
  results jsonb := '[]'::jsonb;
begin
  if jsonb_typeof(p_facts) is distinct from 'array' then
    raise exception 'p_facts must be a JSON array' using errcode = 'P0001';
  end if;
  if payguard.record_event(p_provider, p_event_id, p_event_type, claimed, p_now) ->> 'status' = 'duplicate' then
    return payguard._undelivered_incidents(jsonb_build_object('status', 'duplicate'),
      coalesce(payguard._located(p_provider, p_locator), claimed), p_now);
  end if;
  located := coalesce(payguard._located(p_provider, p_locator), claimed);
  if exists (select 1 from jsonb_array_elements(p_facts) f
              where f ->> 'kind' not in ('refunded', 'refund_failed', 'disputed')
                and coalesce(f ->> 'order_id', located) is null) then
    return jsonb_build_object('status', 'unlocated');
  end if;
  for fact in select f from jsonb_array_elements(p_facts) f loop
    fact_order := coalesce(fact ->> 'order_id', located);
    applied := payguard._settle_fact(fact, fact_order, p_source, p_now) - 'incidents';
    results := results || jsonb_build_array(applied || jsonb_build_object('order_id', fact_order));
  end loop;
  perform payguard.finish_event(p_provider, p_event_id,
    case when jsonb_array_length(p_facts) = 0 then 'ignored' else 'processed' end, p_note, p_now);
  return payguard._with_incidents(jsonb_build_object('status', 'settled', 'finished', true, 'results', results));
end $$;

select payguard._secure_functions();
