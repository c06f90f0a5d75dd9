-- Checkout: the catalogue customers see, and idempotent order creation. An `Idempotency-Key` is bound
-- to one user, one request body (its hash) and one order; the answer given for it is stored so a
-- retried request gets the same order and the same provider session, and nothing new is created.

create table payguard.checkout_requests (
  user_id uuid not null,
  idempotency_key text not null check (idempotency_key ~ '^[\x21-\x7e]{1,255}$'),
  request_hash text not null check (request_hash ~ '^[0-9a-f]{64}$'),
  order_id text not null references payguard.payment_orders (id),
  -- null while the provider session is being created (or if that attempt died half-way)
  response jsonb,
  created_at timestamptz not null,
  updated_at timestamptz not null,
  primary key (user_id, idempotency_key)
);
alter table payguard.checkout_requests enable row level security;
revoke all on payguard.checkout_requests from public, anon, authenticated, service_role;

-- The stock count of `_stock_held` reads only the orders of one package that still hold a unit.
create index payment_orders_package_held on payguard.payment_orders (package_id)
  where status in ('pending', 'fulfilled', 'partially_refunded', 'needs_review');

-- Active packages with what is left of a limited stock (null = unlimited).
create function payguard.list_packages() returns jsonb
  language sql stable security definer set search_path = ''
as $$
  select coalesce(jsonb_agg(jsonb_build_object(
           'id', p.id, 'name', p.name, 'amount_minor', p.amount_minor, 'currency', p.currency,
           'credits', p.credits, 'bonus_credits', p.bonus_credits, 'stock_limit', p.stock_limit,
           'stock_remaining', case when p.stock_limit is null then null
                                   else greatest(p.stock_limit - payguard._stock_held(p.id), 0) end)
         order by p.amount_minor, p.id), '[]'::jsonb)
    from payguard.credit_packages p where p.active;
$$;

-- Starts a checkout: replays what an earlier request with the same key got, refuses the key for another
-- body, or reserves a unit and writes the order (and binds the key to it) in one transaction.
-- Outcomes: created, replayed (order + stored response, null while unfinished), conflict,
-- unknown_package, out_of_stock, currency_not_supported (WeChat Pay charges CNY only).
create function payguard.checkout_begin(
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

-- The provider session exists: link it to the order (Stripe session id; null for WeChat, whose
-- out_trade_no is the order id) and store the answer for replays, together.
create function payguard.checkout_complete(
  p_user_id uuid, p_order_id text, p_idempotency_key text, p_provider_ref text, p_response jsonb, p_now timestamptz
) returns jsonb language plpgsql security definer set search_path = ''
as $$
begin
  perform 1 from payguard.payment_orders where id = p_order_id and user_id = p_user_id for update;
  if not found then
    raise exception 'order % is unknown', p_order_id using errcode = 'P0001';
  end if;
  if p_provider_ref is not null then
    perform payguard.set_provider_ref(p_order_id, p_provider_ref, p_now);
  end if;
  if p_idempotency_key is not null then
    update payguard.checkout_requests set response = p_response, updated_at = p_now
     where user_id = p_user_id and idempotency_key = p_idempotency_key and order_id = p_order_id;
  end if;
  perform payguard._order_event(p_order_id, p_now, 'checkout_started', null,
    jsonb_build_object('provider_ref', p_provider_ref));
  return (select to_jsonb(x) from payguard.payment_orders x where x.id = p_order_id);
end $$;

-- Creating the provider session failed: the order fails (its unit goes back to stock) and the key is
-- released, in one transaction, so a retry starts afresh and nothing half-created is left pending.
create function payguard.checkout_abort(
  p_user_id uuid, p_order_id text, p_idempotency_key text, p_reason text, p_now timestamptz
) returns jsonb language plpgsql security definer set search_path = ''
as $$
begin
  if not exists (select 1 from payguard.payment_orders where id = p_order_id and user_id = p_user_id) then
    raise exception 'order % is unknown', p_order_id using errcode = 'P0001';
  end if;
  if p_idempotency_key is not null then
    delete from payguard.checkout_requests
     where user_id = p_user_id and idempotency_key = p_idempotency_key and order_id = p_order_id;
  end if;
  return payguard.fail_order(p_order_id, p_reason, p_now);
end $$;
