-- The webhook inbox (guard 1): a finished event is a duplicate; an unfinished one is processed again.

create function payguard.record_event(p_provider text, p_event_id text, p_event_type text, p_order_id text, p_now timestamptz)
  returns jsonb language plpgsql security definer set search_path = ''
as $$
declare
  existing payguard.webhook_events;
begin
  insert into payguard.webhook_events (provider, event_id, event_type, order_id, received_at)
  values (p_provider, p_event_id, p_event_type, p_order_id, p_now)
  on conflict (provider, event_id) do nothing;
  if found then
    return jsonb_build_object('status', 'new');
  end if;
  select * into existing from payguard.webhook_events where provider = p_provider and event_id = p_event_id for update;
  if existing.status in ('processed', 'ignored') then
    return jsonb_build_object('status', 'duplicate');
  end if;
  update payguard.webhook_events set attempts = attempts + 1 where provider = p_provider and event_id = p_event_id;
  return jsonb_build_object('status', 'retry');
end $$;

create function payguard.finish_event(p_provider text, p_event_id text, p_status text, p_error text, p_now timestamptz)
  returns void language plpgsql security definer set search_path = ''
as $$
begin
  if p_status not in ('processed', 'ignored', 'failed') then
    raise exception 'invalid inbox status %', p_status using errcode = 'P0001';
  end if;
  update payguard.webhook_events
     set status = p_status, last_error = left(p_error, 500), finished_at = p_now
   where provider = p_provider and event_id = p_event_id
     and status not in ('processed', 'ignored'); -- a finished event stays finished
end $$;
