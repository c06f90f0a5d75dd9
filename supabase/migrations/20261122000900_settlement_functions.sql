-- Settlement: the final guard. Each function locks the order row, refuses transitions out of terminal
-- states, and changes status, ledger and balance in one transaction. Unique keys (one purchase per
-- order, one refund row per provider refund id) make a second credit impossible even when callers race.

-- Internal: add credits to the ledger and the running balance together.
create function payguard._post_credits(
  p_user_id uuid, p_order_id text, p_kind text, p_credits bigint, p_provider text, p_refund_ref text,
  p_note text, p_now timestamptz
) returns boolean language plpgsql security definer set search_path = ''
as $$
declare
  posted int;
begin
  if p_kind = 'purchase' then
    insert into payguard.credit_ledger (user_id, order_id, kind, credits, provider, note, created_at)
    values (p_user_id, p_order_id, 'purchase', p_credits, p_provider, p_note, p_now)
    on conflict (order_id) where kind = 'purchase' do nothing;
  else
    insert into payguard.credit_ledger (user_id, order_id, kind, credits, provider, refund_ref, note, created_at)
    values (p_user_id, p_order_id, p_kind, p_credits, p_provider, p_refund_ref, p_note, p_now);
  end if;
  get diagnostics posted = row_count;
  if posted = 0 then
    return false;
  end if;
  insert into payguard.credit_balances as b (user_id, credits, updated_at) values (p_user_id, p_credits, p_now)
  on conflict (user_id) do update set credits = b.credits + excluded.credits, updated_at = excluded.updated_at;
  perform payguard._notify_app_settled(p_user_id, p_order_id, p_kind, p_credits, p_provider, p_refund_ref, p_note, p_now);
  return true;
end $$;

-- Internal: put an order in needs_review with a reason, from any state.
create function payguard._flag(p_order payguard.payment_orders, p_reason text, p_source text, p_now timestamptz, p_detail jsonb)
  returns payguard.payment_orders language plpgsql security definer set search_path = ''
as $$
declare
  flagged payguard.payment_orders;
begin
  update payguard.payment_orders set status = 'needs_review', review_reason = p_reason, next_check_at = null, updated_at = p_now
   where id = p_order.id returning * into flagged;
  perform payguard._order_event(p_order.id, p_now, 'needs_review', p_source,
    coalesce(p_detail, '{}'::jsonb) || jsonb_build_object('reason', p_reason, 'previous_status', p_order.status));
  return flagged;
end $$;

-- Internal: rebuild a never-written order from the signed metadata the provider carried.
create function payguard._order_from_metadata(p_provider text, p_order_id text, p_metadata jsonb, p_source text, p_now timestamptz)
  returns boolean language plpgsql security definer set search_path = ''
as $$
declare
  pkg payguard.credit_packages;
  user_text text := p_metadata ->> 'user_id';
  inserted int;
begin
  if user_text is null or user_text !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
    return false;
  end if;
  select * into pkg from payguard.credit_packages where id = p_metadata ->> 'package_id';
  if not found then
    return false;
  end if;
  insert into payguard.payment_orders (id, user_id, package_id, provider, amount_minor, currency, credits, source,
                                     expires_at, created_at, updated_at)
  values (p_order_id, user_text::uuid, pkg.id, p_provider, pkg.amount_minor, pkg.currency, pkg.credits, p_source,
          p_now, p_now, p_now)
  on conflict (id) do nothing;
  get diagnostics inserted = row_count;
  if inserted = 1 then
    perform payguard._order_event(p_order_id, p_now, 'created_from_metadata', p_source,
      jsonb_build_object('package_id', pkg.id, 'note', 'order row was missing; rebuilt from provider metadata'));
  end if;
  return inserted = 1;
end $$;

create function payguard.apply_payment(
  p_provider text, p_order_id text, p_payment_ref text, p_amount_minor bigint, p_currency text,
  p_paid_at timestamptz, p_source text, p_now timestamptz, p_metadata jsonb default null
) returns jsonb language plpgsql security definer set search_path = ''
as $$
declare
  o payguard.payment_orders;
  rebuilt boolean := false;
  outcome text;
  payment jsonb := jsonb_build_object('payment_ref', p_payment_ref, 'amount_minor', p_amount_minor,
                                      'currency', upper(p_currency), 'provider', p_provider);
begin
  select * into o from payguard.payment_orders where id = p_order_id for update;
  if not found then
    if p_metadata is null then
      return jsonb_build_object('outcome', 'unknown_order', 'order', null);
    end if;
    rebuilt := payguard._order_from_metadata(p_provider, p_order_id, p_metadata, p_source, p_now);
    select * into o from payguard.payment_orders where id = p_order_id for update;
    if not found then
      return jsonb_build_object('outcome', 'unknown_order', 'order', null);
    end if;
  end if;

  if o.status in ('fulfilled', 'partially_refunded', 'refunded', 'needs_review') then
    if o.payment_ref is not distinct from p_payment_ref or o.status = 'needs_review' then
      return jsonb_build_object('outcome', 'duplicate', 'order', to_jsonb(o));
    end if;
    -- Paid a second time through another channel: never credit twice, a human decides on the refund.
    o := payguard._flag(o, 'paid twice: ' || o.payment_ref || ' and ' || p_payment_ref, p_source, p_now, payment);
    return jsonb_build_object('outcome', 'mismatch', 'order', to_jsonb(o));
  end if;

  if o.provider <> p_provider or o.amount_minor <> p_amount_minor or o.currency <> upper(p_currency) then
    o := payguard._flag(o, format('payment %s %s via %s does not match order %s %s via %s',
                                p_amount_minor, upper(p_currency), p_provider, o.amount_minor, o.currency, o.provider),
                      p_source, p_now, payment);
    return jsonb_build_object('outcome', 'mismatch', 'order', to_jsonb(o));
  end if;

  outcome := case when rebuilt then 'created_from_metadata'
                  when o.status in ('expired', 'failed') then 'late_payment'
                  else 'fulfilled' end;
  update payguard.payment_orders
     set status = 'fulfilled', payment_ref = p_payment_ref, paid_at = p_paid_at, next_check_at = null,
         source = p_source, updated_at = p_now
   where id = o.id returning * into o;
  perform payguard._post_credits(o.user_id, o.id, 'purchase', o.credits, p_provider, null, null, p_now);
  perform payguard._order_event(o.id, p_now, case when outcome = 'late_payment' then 'late_payment' else 'paid' end,
                              p_source, payment || jsonb_build_object('credits', o.credits));
  return jsonb_build_object('outcome', outcome, 'order', to_jsonb(o));
end $$;

create function payguard.apply_refund(
  p_provider text, p_order_id text, p_refund_ref text, p_amount_minor bigint, p_currency text,
  p_source text, p_now timestamptz
) returns jsonb language plpgsql security definer set search_path = ''
as $$
declare
  o payguard.payment_orders;
  granted bigint;
  clawed bigint;
  claw bigint;
  refunded bigint;
  refund jsonb := jsonb_build_object('refund_ref', p_refund_ref, 'amount_minor', p_amount_minor,
                                     'currency', upper(p_currency), 'provider', p_provider);
begin
  select * into o from payguard.payment_orders where id = p_order_id for update;
  if not found then
    return jsonb_build_object('outcome', 'unknown_order', 'order', null);
  end if;
  if exists (select 1 from payguard.payment_refunds where provider = p_provider and refund_ref = p_refund_ref) then
    return jsonb_build_object('outcome', 'duplicate', 'order', to_jsonb(o));
  end if;
  if o.status = 'needs_review' then
    perform payguard._order_event(o.id, p_now, 'refund_while_in_review', p_source, refund);
    return jsonb_build_object('outcome', 'needs_review', 'order', to_jsonb(o));
  end if;
  if o.status not in ('fulfilled', 'partially_refunded', 'refunded') then
    o := payguard._flag(o, format('refund %s on a %s order', p_refund_ref, o.status), p_source, p_now, refund);
    return jsonb_build_object('outcome', 'needs_review', 'order', to_jsonb(o));
  end if;
  refunded := o.refunded_minor + p_amount_minor;
  if p_amount_minor <= 0 or upper(p_currency) <> o.currency or o.provider <> p_provider or refunded > o.amount_minor then
    o := payguard._flag(o, format('refund %s exceeds what was paid', p_refund_ref), p_source, p_now, refund);
    return jsonb_build_object('outcome', 'exceeds_grant', 'order', to_jsonb(o));
  end if;

  select coalesce(sum(credits) filter (where kind = 'purchase'), 0), coalesce(-sum(credits) filter (where kind = 'clawback'), 0)
    into granted, clawed from payguard.credit_ledger where order_id = o.id;
  claw := case when refunded = o.amount_minor then granted - clawed
               else least((o.credits * p_amount_minor) / o.amount_minor, granted - clawed) end;
  insert into payguard.payment_refunds (provider, refund_ref, order_id, amount_minor, credits_clawed_back, applied_at)
  values (p_provider, p_refund_ref, o.id, p_amount_minor, greatest(claw, 0), p_now);
  if claw > 0 then
    perform payguard._post_credits(o.user_id, o.id, 'clawback', -claw, p_provider, p_refund_ref, null, p_now);
  end if;
  update payguard.payment_orders
     set refunded_minor = refunded, updated_at = p_now,
         status = case when refunded = o.amount_minor then 'refunded' else 'partially_refunded' end
   where id = o.id returning * into o;
  perform payguard._order_event(o.id, p_now, 'refunded', p_source, refund || jsonb_build_object('credits_clawed_back', claw));
  return jsonb_build_object('outcome', o.status, 'order', to_jsonb(o));
end $$;
