-- Runbook actions of the operator console: the sales switch (pause checkout for one package or for all,
-- while settlement of existing orders carries on) and the list of inbox events an operator may replay.

-- One row per paused scope: '*' pauses every package, otherwise the package id. No row = on sale.
create table payguard.sales_pauses (
  scope text primary key,
  paused_at timestamptz not null,
  paused_by text not null,
  reason text not null
);
alter table payguard.sales_pauses enable row level security;
revoke all on payguard.sales_pauses from public, anon, authenticated, service_role;

create function payguard.list_sales_pauses() returns jsonb
  language sql stable security definer set search_path = ''
as $$
  select coalesce(jsonb_agg(jsonb_build_object('scope', s.scope, 'paused_at', s.paused_at,
                                               'paused_by', s.paused_by, 'reason', s.reason)
                            order by s.scope), '[]'::jsonb)
    from payguard.sales_pauses s;
$$;

-- Pauses or resumes sales for a scope; `changed` is false when it already was in that state.
create function payguard.set_sales_pause(
  p_scope text, p_paused boolean, p_actor text, p_reason text, p_now timestamptz
) returns jsonb language plpgsql security definer set search_path = ''
as $$
declare
  changed boolean;
begin
  if p_scope is null or (p_scope <> '*' and not exists (select 1 from payguard.credit_packages where id = p_scope)) then
    raise exception 'unknown package %', p_scope using errcode = 'P0001';
  end if;
  if p_paused then
    insert into payguard.sales_pauses (scope, paused_at, paused_by, reason)
    values (p_scope, p_now, p_actor, p_reason)
    on conflict (scope) do nothing;
  else
    delete from payguard.sales_pauses where scope = p_scope;
  end if;
  changed := found;
  return jsonb_build_object('changed', changed, 'paused', payguard.list_sales_pauses());
end $$;

create function payguard._sales_paused(p_package_id text) returns boolean
  language sql stable security definer set search_path = ''
as $$
  select exists (select 1 from payguard.sales_pauses where scope in ('*', p_package_id));
$$;

-- checkout_begin as in 20261122004500_checkout.sql, plus the sales switch: a paused package gets no new
-- order (outcome sales_paused), while a replay of an order created before the pause still answers.
create or replace function payguard.checkout_begin(
  p_user_id uuid, p_package_id text, p_provider text, p_idempotency_key text, p_request_hash text,
  p_now timestamptz, p_expires_in_seconds int
) returns jsonb language plpgsql security definer set search_path = ''
as $$
declare
  request payguard.checkout_requests;
  reserved jsonb;
begin
  if p_idempotency_key is not null then
    -- Requests with one key wait for each other here, so only the first one creates an order.
    perform pg_advisory_xact_lock(hashtextextended(p_user_id::text || ':' || p_idempotency_key, 0));
    select * into request from payguard.checkout_requests
     where user_id = p_user_id and idempotency_key = p_idempotency_key;
    if found then
      if request.request_hash <> p_request_hash then
        return jsonb_build_object('outcome', 'conflict', 'order', null, 'response', null);
      end if;
      return jsonb_build_object('outcome', 'replayed', 'response', request.response,
        'order', (select to_jsonb(o) from payguard.payment_orders o where o.id = request.order_id),
        'package_name', (select p.name from payguard.credit_packages p where p.id = p_package_id));
    end if;
  end if;
  if payguard._sales_paused(p_package_id) then
    return jsonb_build_object('outcome', 'sales_paused', 'order', null, 'response', null);
  end if;
  if p_provider = 'wechatpay' and exists (
    select 1 from payguard.credit_packages where id = p_package_id and currency <> 'CNY'
  ) then
    return jsonb_build_object('outcome', 'currency_not_supported', 'order', null, 'response', null);
  end if;
  reserved := payguard._reserve_order(p_user_id, p_package_id, p_provider, p_now, null, p_expires_in_seconds);
  if reserved ->> 'outcome' <> 'created' then
    return reserved || jsonb_build_object('response', null);
  end if;
  if p_idempotency_key is not null then
    insert into payguard.checkout_requests (user_id, idempotency_key, request_hash, order_id, created_at, updated_at)
    values (p_user_id, p_idempotency_key, p_request_hash, reserved -> 'order' ->> 'id', p_now, p_now);
  end if;
  return reserved || jsonb_build_object('response', null,
    'package_name', (select p.name from payguard.credit_packages p where p.id = p_package_id));
end $$;

-- Inbox events an operator may replay, oldest first: failed ones, ones still `received` (stuck when
-- received before p_stuck_before), by provider, event type and receipt window. p_status: failed,
-- received, stuck, or null for failed + stuck.
create function payguard.admin_replayable_events(
  p_provider text, p_status text, p_event_type text, p_from timestamptz, p_to timestamptz,
  p_stuck_before timestamptz, p_limit int
) returns jsonb language sql stable security definer set search_path = ''
as $$
  select coalesce(jsonb_agg(to_jsonb(w) order by w.received_at, w.event_id), '[]'::jsonb)
    from (select provider, event_id, event_type, order_id, status, attempts, last_error, received_at
            from payguard.webhook_events e
           where (p_provider is null or e.provider = p_provider)
             and (p_event_type is null or e.event_type = p_event_type)
             and (p_from is null or e.received_at >= p_from)
             and (p_to is null or e.received_at < p_to)
             and case coalesce(p_status, 'failed_or_stuck')
                   when 'failed' then e.status = 'failed'
                   when 'received' then e.status = 'received'
                   when 'stuck' then e.status = 'received' and e.received_at < p_stuck_before
                   else e.status = 'failed' or (e.status = 'received' and e.received_at < p_stuck_before)
                 end
           order by e.received_at, e.event_id
           limit least(greatest(p_limit, 1), 100)) w;
$$;
