-- Creating and reading orders. Every function: SECURITY DEFINER, empty search_path, service_role only.

-- Internal: append to an order's timeline.
create function payguard._order_event(p_order_id text, p_at timestamptz, p_kind text, p_source text, p_detail jsonb)
  returns void language sql security definer set search_path = ''
as $$
  insert into payguard.order_events (order_id, at, kind, source, detail)
  values (p_order_id, p_at, p_kind, p_source, coalesce(p_detail, '{}'::jsonb));
$$;

-- Internal: how many units of a package are taken. A pending order holds its unit until it leaves
-- `pending` (expired after the provider closed it, failed), so a payment arriving at the last second
-- never finds its unit sold to someone else; fulfilled, partially refunded and in-review orders keep it.
create function payguard._stock_held(p_package_id text) returns int
  language sql stable security definer set search_path = ''
as $$
  select count(*)::int from payguard.payment_orders
   where package_id = p_package_id and status in ('pending', 'fulfilled', 'partially_refunded', 'needs_review');
$$;

-- Internal: reserve a unit and write the order, or say why not, as an outcome instead of an error so
-- callers can answer each case. The package row lock serialises every reservation of one package:
-- under READ COMMITTED the count that follows the lock sees every order committed before it, so
-- concurrent checkouts never take more units than `stock_limit`.
create function payguard._reserve_order(
  p_user_id uuid, p_package_id text, p_provider text, p_now timestamptz, p_order_id text, p_expires_in_seconds int
) returns jsonb language plpgsql security definer set search_path = ''
as $$
declare
  pkg payguard.credit_packages;
  existing payguard.payment_orders;
  created payguard.payment_orders;
begin
  if p_expires_in_seconds is null or p_expires_in_seconds < 60 or p_expires_in_seconds > 604800 then
    raise exception 'expires_in_seconds must be between 60 and 604800' using errcode = 'P0001';
  end if;
  select * into pkg from payguard.credit_packages where id = p_package_id for update;
  -- Looked up after the lock: a concurrent call with the same order id has committed by now.
  if p_order_id is not null then
    select * into existing from payguard.payment_orders where id = p_order_id;
    if found then
      if existing.user_id <> p_user_id or existing.package_id <> p_package_id or existing.provider <> p_provider then
        return jsonb_build_object('outcome', 'conflict', 'order', null);
      end if;
      return jsonb_build_object('outcome', 'existing', 'order', to_jsonb(existing));
    end if;
  end if;
  if pkg.id is null or not pkg.active then
    return jsonb_build_object('outcome', 'unknown_package', 'order', null);
  end if;
  if pkg.stock_limit is not null and payguard._stock_held(pkg.id) >= pkg.stock_limit then
    return jsonb_build_object('outcome', 'out_of_stock', 'order', null);
  end if;
  insert into payguard.payment_orders (
    id, user_id, package_id, provider, amount_minor, currency, credits,
    next_check_at, expires_at, created_at, updated_at
  ) values (
    coalesce(p_order_id, 'ord_' || substr(replace(gen_random_uuid()::text, '-', ''), 1, 24)),
    p_user_id, pkg.id, p_provider, pkg.amount_minor, pkg.currency, pkg.credits,
    p_now + interval '60 seconds', p_now + make_interval(secs => p_expires_in_seconds), p_now, p_now
  ) returning * into created;
  perform payguard._order_event(created.id, p_now, 'created', null,
    jsonb_build_object('package_id', pkg.id, 'amount_minor', pkg.amount_minor, 'currency', pkg.currency,
                       'stock_limit', pkg.stock_limit));
  -- A payment that arrived before its order was written was held; it applies now, in this transaction.
  if payguard._release_held_payments(created.id, p_now) > 0 then
    select * into created from payguard.payment_orders where id = created.id;
  end if;
  return jsonb_build_object('outcome', 'created', 'order', to_jsonb(created));
end $$;

create function payguard.create_order(
  p_user_id uuid, p_package_id text, p_provider text, p_now timestamptz,
  p_order_id text default null, p_expires_in_seconds int default 1800
) returns jsonb language plpgsql security definer set search_path = ''
as $$
declare
  reserved jsonb := payguard._reserve_order(p_user_id, p_package_id, p_provider, p_now, p_order_id, p_expires_in_seconds);
begin
  case reserved ->> 'outcome'
    when 'created', 'existing' then return reserved -> 'order';
    when 'out_of_stock' then raise exception 'out_of_stock' using errcode = 'P0001';
    when 'unknown_package' then
      raise exception 'unknown or inactive package %', p_package_id using errcode = 'P0001';
    else raise exception 'order % exists for another user, package or provider', p_order_id using errcode = 'P0001';
  end case;
end $$;

create function payguard.get_order(p_order_id text) returns jsonb
  language sql stable security definer set search_path = ''
as $$
  select to_jsonb(o) || jsonb_build_object('timeline', coalesce((
           select jsonb_agg(jsonb_build_object('at', e.at, 'kind', e.kind, 'source', e.source, 'detail', e.detail)
                            order by e.at, e.id)
             from payguard.order_events e where e.order_id = o.id), '[]'::jsonb))
    from payguard.payment_orders o where o.id = p_order_id;
$$;

create function payguard.find_order_by_provider_ref(p_provider text, p_provider_ref text) returns jsonb
  language sql stable security definer set search_path = ''
as $$
  select to_jsonb(o) from payguard.payment_orders o where o.provider = p_provider and o.provider_ref = p_provider_ref;
$$;

create function payguard.find_order_by_payment_ref(p_provider text, p_payment_ref text) returns jsonb
  language sql stable security definer set search_path = ''
as $$
  select to_jsonb(o) from payguard.payment_orders o where o.provider = p_provider and o.payment_ref = p_payment_ref;
$$;

create function payguard.set_provider_ref(p_order_id text, p_provider_ref text, p_now timestamptz) returns jsonb
  language plpgsql security definer set search_path = ''
as $$
declare
  updated payguard.payment_orders;
begin
  update payguard.payment_orders set provider_ref = p_provider_ref, updated_at = p_now
   where id = p_order_id and (provider_ref is null or provider_ref = p_provider_ref)
  returning * into updated;
  if not found then
    raise exception 'order % is unknown or already has another provider reference', p_order_id using errcode = 'P0001';
  end if;
  return to_jsonb(updated);
end $$;

create function payguard.list_orders(p_status text default null, p_limit int default 50, p_before timestamptz default null)
  returns jsonb language sql stable security definer set search_path = ''
as $$
  select coalesce(jsonb_agg(to_jsonb(o) order by o.created_at desc), '[]'::jsonb)
    from (select * from payguard.payment_orders
           where (p_status is null or status = p_status) and (p_before is null or created_at < p_before)
           order by created_at desc limit least(greatest(p_limit, 1), 500)) o;
$$;
