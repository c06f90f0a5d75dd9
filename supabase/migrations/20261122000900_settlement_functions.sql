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

-- Internal: rebuild a never-written order from the signed metadata the provider carried. Only for an
-- active package within its stock (`rebuilt`); otherwise the order is written in needs_review for a
-- human (`review`). `unusable`: no usable metadata, nothing written.
create function payguard._order_from_metadata(p_provider text, p_order_id text, p_metadata jsonb, p_source text, p_now timestamptz)
  returns text language plpgsql security definer set search_path = ''
as $$
declare
  pkg payguard.credit_packages;
  user_text text := p_metadata ->> 'user_id';
  held int;
  reason text;
begin
  if user_text is null or user_text !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
    return 'unusable';
  end if;
  select * into pkg from payguard.credit_packages where id = p_metadata ->> 'package_id' for update;
  if not found then
    return 'unusable';
  end if;
  if not pkg.active then
    reason := 'rebuilt from metadata for inactive package ' || pkg.id;
  elsif pkg.stock_limit is not null then
    select count(*) into held from payguard.payment_orders
     where package_id = pkg.id
       and (status in ('fulfilled', 'partially_refunded', 'needs_review') or (status = 'pending' and expires_at > p_now));
    if held >= pkg.stock_limit then
      reason := 'rebuilt from metadata beyond the stock of package ' || pkg.id;
    end if;
  end if;
  insert into payguard.payment_orders (id, user_id, package_id, provider, amount_minor, currency, credits, source,
                                       status, review_reason, expires_at, created_at, updated_at)
  values (p_order_id, user_text::uuid, pkg.id, p_provider, pkg.amount_minor, pkg.currency, pkg.credits, p_source,
          case when reason is null then 'pending' else 'needs_review' end, reason, p_now, p_now, p_now);
  perform payguard._order_event(p_order_id, p_now, 'created_from_metadata', p_source,
    jsonb_build_object('package_id', pkg.id, 'review_reason', reason,
                       'note', 'order row was missing; rebuilt from provider metadata'));
  return case when reason is null then 'rebuilt' else 'review' end;
end $$;

-- Internal: how many credits the refunds counted so far take back: proportional, floored, all of them
-- once the whole paid amount is refunded. Depends only on the total, so on the set of refunds.
create function payguard._claw_target(p_credits bigint, p_paid_minor bigint, p_refunded_minor bigint)
  returns bigint language sql immutable security definer set search_path = ''
as $$
  select case when p_refunded_minor >= p_paid_minor then p_credits
              else least(p_credits, (p_credits * greatest(p_refunded_minor, 0)) / p_paid_minor) end;
$$;

-- Internal: brings an order's ledger rows, refunded amount and status to what its recorded facts imply.
-- Called under the order's row lock after every fact. The grant stands once a primary payment is
-- recorded (unless a review rejected it); each counted refund claws back once (keyed by its id); a
-- failed refund's clawback is reversed once (an `adjustment` keyed by its id). Whatever still differs
-- from the target (a rejected review, a primary payment replaced by an earlier one) is one adjustment.
create function payguard._sync_order(p_order_id text, p_source text, p_now timestamptz)
  returns payguard.payment_orders language plpgsql security definer set search_path = ''
as $$
declare
  o payguard.payment_orders;
  paid_minor bigint;
  grant_stands boolean;
  counted_minor bigint;
  net bigint;
  step bigint;
  target bigint;
  ledger_sum bigint;
  r record;
begin
  select * into o from payguard.payment_orders where id = p_order_id for update;
  paid_minor := o.amount_minor - o.discount_minor;
  grant_stands := o.payment_ref is not null and o.review_resolution is distinct from 'reject';
  if grant_stands then
    perform payguard._post_credits(o.user_id, o.id, 'purchase', o.credits, o.provider, null, null, p_now);
    select coalesce(-sum(credits), 0) into net from payguard.credit_ledger
     where order_id = o.id and refund_ref is not null and kind in ('clawback', 'adjustment');
    for r in select * from payguard.payment_refunds
              where order_id = o.id and status = 'failed' and credits_clawed_back is not null and reversed_at is null
              order by refund_ref loop
      select coalesce(sum(amount_minor), 0) into counted_minor from payguard.payment_refunds
       where order_id = o.id and status = 'succeeded' and credits_clawed_back is not null;
      step := net - payguard._claw_target(o.credits, paid_minor, counted_minor);
      if step > 0 then
        perform payguard._post_credits(o.user_id, o.id, 'adjustment', step, o.provider, r.refund_ref, 'refund failed', p_now);
        net := net - step;
      end if;
      update payguard.payment_refunds set reversed_at = p_now where provider = r.provider and refund_ref = r.refund_ref;
    end loop;
    for r in select * from payguard.payment_refunds
              where order_id = o.id and status = 'succeeded' and credits_clawed_back is null
                and (payment_ref is null or payment_ref = o.payment_ref)
              order by refund_ref loop
      select coalesce(sum(amount_minor), 0) + r.amount_minor into counted_minor from payguard.payment_refunds
       where order_id = o.id and status = 'succeeded' and credits_clawed_back is not null;
      step := greatest(payguard._claw_target(o.credits, paid_minor, counted_minor) - net, 0);
      if step > 0 then
        perform payguard._post_credits(o.user_id, o.id, 'clawback', -step, o.provider, r.refund_ref, null, p_now);
        net := net + step;
      end if;
      update payguard.payment_refunds set credits_clawed_back = step where provider = r.provider and refund_ref = r.refund_ref;
    end loop;
  end if;
  select coalesce(sum(amount_minor), 0) into counted_minor from payguard.payment_refunds
   where order_id = o.id and status = 'succeeded' and (payment_ref is null or payment_ref = o.payment_ref);
  target := case when grant_stands then o.credits - payguard._claw_target(o.credits, paid_minor, counted_minor) else 0 end;
  select coalesce(sum(credits), 0) into ledger_sum from payguard.credit_ledger where order_id = o.id;
  if target <> ledger_sum then
    perform payguard._post_credits(o.user_id, o.id, 'adjustment', target - ledger_sum, o.provider, null,
                                   'settlement: ledger brought to what the order''s facts imply', p_now);
  end if;
  update payguard.payment_orders
     set refunded_minor = least(counted_minor, amount_minor), updated_at = p_now,
         status = case when status = 'needs_review' or o.payment_ref is null or o.review_resolution = 'reject' then status
                       when counted_minor >= paid_minor then 'refunded'
                       when counted_minor > 0 then 'partially_refunded'
                       else 'fulfilled' end
   where id = o.id returning * into o;
  return o;
end $$;

-- Internal: a refund that can apply now, recorded against its (locked, paid) order.
create function payguard._record_refund(o payguard.payment_orders, p_fact jsonb, p_source text, p_now timestamptz)
  returns text language plpgsql security definer set search_path = ''
as $$
declare
  ref text := p_fact ->> 'refund_ref';
  amount bigint := (p_fact ->> 'amount_minor')::bigint;
  counted bigint;
  failed boolean;
begin
  select coalesce(sum(amount_minor), 0) + amount into counted from payguard.payment_refunds
   where order_id = o.id and status = 'succeeded' and (payment_ref is null or payment_ref = o.payment_ref);
  if amount <= 0 or upper(p_fact ->> 'currency') <> o.currency or o.provider <> (p_fact ->> 'provider')
     or counted > o.amount_minor - o.discount_minor then
    perform payguard._flag(o, format('refund %s exceeds what was paid', ref), p_source, p_now, p_fact);
    return 'exceeds_grant';
  end if;
  failed := exists (select 1 from payguard.refund_failures where provider = o.provider and refund_ref = ref);
  insert into payguard.payment_refunds (provider, refund_ref, order_id, payment_ref, amount_minor, status, applied_at)
  values (o.provider, ref, o.id, p_fact ->> 'payment_ref', amount, case when failed then 'failed' else 'succeeded' end, p_now);
  perform payguard._order_event(o.id, p_now, case when failed then 'refund_failed' else 'refunded' end, p_source, p_fact);
  return case when failed then 'refund_failed' else 'recorded' end;
end $$;

-- Internal: applies the refunds held for this order or for one of its payments (same transaction).
create function payguard._release_held_refunds(o payguard.payment_orders, p_source text, p_now timestamptz)
  returns int language plpgsql security definer set search_path = ''
as $$
declare
  h record;
  released int := 0;
begin
  for h in delete from payguard.held_facts
            where provider = o.provider and kind = 'refund'
              and ((payment_ref is null and order_id = o.id)
                   or payment_ref in (select payment_ref from payguard.order_payments where order_id = o.id))
           returning * loop
    if not exists (select 1 from payguard.payment_refunds where provider = h.provider and refund_ref = h.fact_ref) then
      perform payguard._record_refund(o, h.fact, p_source, p_now);
      released := released + 1;
    end if;
  end loop;
  return released;
end $$;

-- Internal: serialises a held fact with the fact that releases it. A hold and its release may run in two
-- transactions that cannot see each other's uncommitted rows (a refund held while its payment commits);
-- both take this lock on the key they share (the order id, or the provider's payment reference).
create function payguard._lock_key(p_key text) returns void
  language sql security definer set search_path = ''
as $$ select pg_advisory_xact_lock(hashtextextended('payguard:' || p_key, 0)) $$;

-- Internal: keep a fact that cannot apply yet. `held`, or `duplicate` when it was already held.
create function payguard._hold(p_provider text, p_kind text, p_ref text, p_order_id text, p_payment_ref text,
                               p_fact jsonb, p_now timestamptz)
  returns text language plpgsql security definer set search_path = ''
as $$
begin
  insert into payguard.held_facts (provider, kind, fact_ref, order_id, payment_ref, fact, held_at)
  values (p_provider, p_kind, p_ref, p_order_id, p_payment_ref, p_fact, p_now)
  on conflict do nothing;
  return case when found then 'held' else 'duplicate' end;
end $$;

-- Internal: which order a payment settles, from the references payguard's own server side wrote: the
-- stored provider object (Checkout Session id) first, then the order id. Locks the order.
create function payguard._locate_payment(p_provider text, p_order_id text, p_provider_ref text)
  returns payguard.payment_orders language plpgsql security definer set search_path = ''
as $$
declare
  o payguard.payment_orders;
begin
  if p_provider_ref is not null then
    select * into o from payguard.payment_orders where provider = p_provider and provider_ref = p_provider_ref for update;
  end if;
  if o.id is null then
    select * into o from payguard.payment_orders where id = p_order_id for update;
  end if;
  return o;
end $$;

-- Internal: why a reference the payment carries disagrees with the order on record (null: none does).
-- A client_reference_id or metadata the payer could influence never moves money to another order or user.
create function payguard._payment_disagreement(o payguard.payment_orders, p_order_id text, p_provider_ref text, p_metadata jsonb)
  returns text language plpgsql stable security definer set search_path = ''
as $$
declare
  claimed text;
begin
  foreach claimed in array array[p_order_id, p_metadata ->> 'order_id', p_metadata ->> 'client_reference_id'] loop
    if claimed is not null and claimed <> o.id then
      return format('payment names order %s but belongs to order %s', claimed, o.id);
    end if;
  end loop;
  if p_metadata ->> 'user_id' is not null and p_metadata ->> 'user_id' <> o.user_id::text then
    return format('payment names user %s but order %s belongs to another user', p_metadata ->> 'user_id', o.id);
  end if;
  if p_provider_ref is not null and o.provider_ref is not null and o.provider_ref <> p_provider_ref then
    return format('payment came through %s but order %s was opened as %s', p_provider_ref, o.id, o.provider_ref);
  end if;
  return null;
end $$;

create function payguard.apply_payment(
  p_provider text, p_order_id text, p_payment_ref text, p_amount_minor bigint, p_currency text,
  p_paid_at timestamptz, p_source text, p_now timestamptz, p_metadata jsonb default null,
  p_discount_minor bigint default 0, p_provider_ref text default null
) returns jsonb language plpgsql security definer set search_path = ''
as $$
declare
  o payguard.payment_orders;
  disagree text;
  rebuilt text;
  prior record;
  role text;
  outcome text;
  was text;
  payment jsonb := jsonb_build_object('payment_ref', p_payment_ref, 'amount_minor', p_amount_minor,
                                      'discount_minor', p_discount_minor, 'currency', upper(p_currency),
                                      'provider', p_provider, 'paid_at', p_paid_at, 'provider_ref', p_provider_ref,
                                      'metadata', p_metadata);
begin
  perform payguard._lock_key('payment:' || p_provider || ':' || p_payment_ref);
  select * into prior from payguard.order_payments where provider = p_provider and payment_ref = p_payment_ref;
  if found then
    select * into o from payguard.payment_orders where id = prior.order_id;
    return jsonb_build_object('outcome', 'duplicate', 'order', to_jsonb(o));
  end if;
  o := payguard._locate_payment(p_provider, p_order_id, p_provider_ref);
  if o.id is null and p_order_id is not null then
    perform payguard._lock_key('order:' || p_order_id);
    o := payguard._locate_payment(p_provider, p_order_id, p_provider_ref);
  end if;
  if o.id is null then
    rebuilt := case when p_metadata is null then 'unusable'
                    else payguard._order_from_metadata(p_provider, p_order_id, p_metadata, p_source, p_now) end;
    if rebuilt = 'unusable' then
      return jsonb_build_object('outcome',
        payguard._hold(p_provider, 'payment', p_payment_ref, p_order_id, p_payment_ref, payment, p_now), 'order', null);
    end if;
    o := payguard._locate_payment(p_provider, p_order_id, null);
  end if;
  disagree := payguard._payment_disagreement(o, p_order_id, p_provider_ref, p_metadata);
  delete from payguard.held_facts where provider = p_provider and kind = 'payment' and fact_ref = p_payment_ref;
  was := o.status;

  if disagree is not null then
    role := 'disputed';
  elsif o.provider <> p_provider or o.amount_minor <> p_amount_minor + p_discount_minor
        or o.currency <> upper(p_currency) or p_discount_minor < 0 then
    role := 'mismatch';
    disagree := format('payment %s (+%s discount) %s via %s does not match order %s %s via %s', p_amount_minor,
                       p_discount_minor, upper(p_currency), p_provider, o.amount_minor, o.currency, o.provider);
  elsif o.payment_ref is null then
    role := 'primary';
  elsif (p_paid_at, p_payment_ref) < (o.paid_at, o.payment_ref) then
    -- The earliest matching payment is the credited one, whichever arrived first.
    update payguard.order_payments set role = 'second' where provider = o.provider and payment_ref = o.payment_ref;
    disagree := 'paid twice: refund ' || o.payment_ref || ' (keep ' || p_payment_ref || ')';
    role := 'primary';
  else
    role := 'second';
    disagree := 'paid twice: refund ' || p_payment_ref || ' (keep ' || o.payment_ref || ')';
  end if;
  insert into payguard.order_payments (provider, payment_ref, order_id, role, amount_minor, discount_minor, currency,
                                       paid_at, recorded_at)
  values (p_provider, p_payment_ref, o.id, role, p_amount_minor, p_discount_minor, upper(p_currency), p_paid_at, p_now);

  if role = 'primary' then
    update payguard.payment_orders
       set payment_ref = p_payment_ref, paid_at = p_paid_at, discount_minor = p_discount_minor, next_check_at = null,
           source = p_source, updated_at = p_now,
           status = case when status = 'needs_review' then status else 'fulfilled' end
     where id = o.id returning * into o;
  end if;
  perform payguard._order_event(o.id, p_now,
    case role when 'primary' then case when was in ('expired', 'failed') then 'late_payment' else 'paid' end
              when 'second' then 'second_payment' else 'payment_' || role end,
    p_source, payment || jsonb_build_object('credits', o.credits, 'role', role));
  if disagree is not null then
    o := payguard._flag(o, disagree, p_source, p_now, payment);
  end if;
  perform payguard._release_held_refunds(o, p_source, p_now);
  o := payguard._sync_order(o.id, p_source, p_now);
  outcome := case when o.status = 'needs_review' then (case when role = 'primary' then 'needs_review' else 'mismatch' end)
                  when rebuilt = 'rebuilt' then 'created_from_metadata'
                  when was in ('expired', 'failed') then 'late_payment'
                  else 'fulfilled' end;
  return jsonb_build_object('outcome', outcome, 'order', to_jsonb(o));
end $$;

-- A refund: recorded against its paid order and clawed back once, or held until the payment it refunds
-- is seen. The order is found by our order id, else by the payment reference it refunds.
create function payguard.apply_refund(
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

-- The provider says a refund failed (money back with the customer's merchant): its clawback, if any,
-- is reversed once. Kept even when the refund itself is not seen yet, so it ends failed either way.
create function payguard.fail_refund(p_provider text, p_refund_ref text, p_source text, p_now timestamptz)
  returns jsonb language plpgsql security definer set search_path = ''
as $$
declare
  o payguard.payment_orders;
  r record;
begin
  insert into payguard.refund_failures (provider, refund_ref, failed_at) values (p_provider, p_refund_ref, p_now)
  on conflict do nothing;
  if not found then
    select o2.* into o from payguard.payment_orders o2 join payguard.payment_refunds r2 on r2.order_id = o2.id
     where r2.provider = p_provider and r2.refund_ref = p_refund_ref;
    return jsonb_build_object('outcome', 'duplicate', 'order', to_jsonb(o));
  end if;
  select * into r from payguard.payment_refunds where provider = p_provider and refund_ref = p_refund_ref;
  if not found then
    return jsonb_build_object('outcome', 'refund_failed', 'order', null);
  end if;
  select * into o from payguard.payment_orders where id = r.order_id for update;
  update payguard.payment_refunds set status = 'failed' where provider = p_provider and refund_ref = p_refund_ref;
  perform payguard._order_event(o.id, p_now, 'refund_failed', p_source,
    jsonb_build_object('refund_ref', p_refund_ref, 'provider', p_provider));
  o := payguard._sync_order(o.id, p_source, p_now);
  return jsonb_build_object('outcome', 'refund_failed', 'order', to_jsonb(o));
end $$;

-- Internal: applies the payments held for an order that has just been written (same transaction).
create function payguard._release_held_payments(p_order_id text, p_now timestamptz)
  returns int language plpgsql security definer set search_path = ''
as $$
declare
  h record;
  released int := 0;
begin
  perform payguard._lock_key('order:' || p_order_id);
  for h in select * from payguard.held_facts where kind = 'payment' and order_id = p_order_id order by fact_ref loop
    perform payguard.apply_payment(h.provider, p_order_id, h.fact_ref, (h.fact ->> 'amount_minor')::bigint,
      h.fact ->> 'currency', (h.fact ->> 'paid_at')::timestamptz, 'held', p_now,
      nullif(h.fact -> 'metadata', 'null'::jsonb),
      (h.fact ->> 'discount_minor')::bigint, h.fact ->> 'provider_ref');
    released := released + 1;
  end loop;
  return released;
end $$;
