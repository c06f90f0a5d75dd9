-- Subscription credits. A plan is a package that renews: its price, currency and credits are per period, and
-- `credit_plans` adds the Stripe price that bills it and what happens to a period's unused credits. Each paid
-- invoice of a subscription grants once, as an order of its own (id = the invoice id, provider_ref = the
-- invoice, payment_ref = its PaymentIntent) written and paid in the invoice event's transaction: the inbox,
-- settlement, review, refunds, disputes, audit and the app hook are the orders' own, and a refund of the
-- invoice's payment finds its grant by payment_ref like any other.

-- ==== plans ======================================================================================
-- `expiry_policy`: accumulate (credits carry over) or reset (when a later period is granted, what is left of
-- an ended period's grant expires by a ledger entry). `interval` is what the price says, shown to buyers.
create table payguard.credit_plans (
  package_id text primary key references payguard.credit_packages (id),
  price_ref text not null unique check (price_ref ~ '^price_[A-Za-z0-9_]{1,250}$'),
  interval text not null check (interval in ('day', 'week', 'month', 'year')),
  interval_count integer not null default 1 check (interval_count between 1 and 365),
  expiry_policy text not null default 'accumulate' check (expiry_policy in ('accumulate', 'reset')),
  created_at timestamptz not null default now()
);

-- ==== subscriptions ==============================================================================
-- What payguard knows of each subscription: whose it is (the metadata payguard's checkout wrote), its plan,
-- and Stripe's status as of `status_at` (the newest report wins, whatever order the events came in).
-- `next_check_at`: when the reconcile may ask Stripe again about a current period with no granted invoice.
create table payguard.subscriptions (
  id text primary key check (id ~ '^sub_[A-Za-z0-9_]{1,250}$'),
  provider text not null default 'stripe' check (provider = 'stripe'),
  user_id uuid not null,
  package_id text not null references payguard.credit_packages (id),
  status text not null,
  status_at timestamptz,
  current_period_start timestamptz,
  current_period_end timestamptz,
  cancel_at_period_end boolean not null default false,
  -- Two reports of one second disagreed: the re-check retrieves the subscription and settles it.
  resync boolean not null default false,
  check_attempts integer not null default 0,
  next_check_at timestamptz,
  created_at timestamptz not null,
  updated_at timestamptz not null
);
create index subscriptions_user on payguard.subscriptions (user_id, created_at desc);
create index subscriptions_live on payguard.subscriptions (current_period_start)
  where status in ('active', 'past_due', 'trialing');

-- Every paid invoice of a subscription, with what it granted by the rule (`rule` says which) and the order
-- holding the grant (null when the rule grants nothing: a trial, a downgrade's credit note).
create table payguard.subscription_invoices (
  invoice_ref text primary key check (invoice_ref ~ '^in_[A-Za-z0-9_]{1,250}$'),
  subscription_id text not null references payguard.subscriptions (id),
  billing_reason text not null,
  period_start timestamptz not null,
  period_end timestamptz not null,
  amount_paid_minor bigint not null check (amount_paid_minor >= 0),
  currency char(3) not null check (currency ~ '^[A-Z]{3}$'),
  credits integer not null check (credits >= 0),
  rule text not null,
  order_id text references payguard.payment_orders (id),
  paid_at timestamptz not null,
  recorded_at timestamptz not null,
  -- Reset policy: when the grant expired, and how much of it the user had spent by then (what the expiry
  -- spared: the balance held less than the grant's net).
  expired_at timestamptz,
  spent_at_expiry bigint check (spent_at_expiry >= 0)
);
create index subscription_invoices_subscription on payguard.subscription_invoices (subscription_id, period_start);

-- An expiry (reset policy) takes what is left of one order's grant, once; it names that order in
-- `expired_order_id`, not `order_id`, because an order's own rows must sum to what its facts imply.
alter table payguard.credit_ledger add column expired_order_id text references payguard.payment_orders (id);
alter table payguard.credit_ledger drop constraint credit_ledger_kind_check;
alter table payguard.credit_ledger add constraint credit_ledger_kind_check
  check (kind in ('purchase', 'clawback', 'adjustment', 'dispute', 'expiry'));
alter table payguard.credit_ledger add constraint credit_ledger_expiry
  check (kind <> 'expiry' or (order_id is null and expired_order_id is not null and credits < 0));
create unique index credit_ledger_one_expiry on payguard.credit_ledger (expired_order_id) where kind = 'expiry';

alter table payguard.credit_plans enable row level security;
alter table payguard.subscriptions enable row level security;
alter table payguard.subscription_invoices enable row level security;
-- Read through the functions only (the catalogue is public through GET /api/packages): no grants.
revoke all on payguard.credit_plans, payguard.subscriptions, payguard.subscription_invoices
  from public, anon, authenticated, service_role;

-- ==== catalogue ==================================================================================
-- Active one-off packages (as before: a plan is not one) and, separately, the active plans.
create or replace function payguard.list_packages() returns jsonb
  language sql stable security definer set search_path = ''
as $$
  select coalesce(jsonb_agg(jsonb_build_object(
           'id', p.id, 'name', p.name, 'amount_minor', p.amount_minor, 'currency', p.currency,
           'credits', p.credits, 'bonus_credits', p.bonus_credits, 'stock_limit', p.stock_limit,
           'stock_remaining', case when p.stock_limit is null then null
                                   else greatest(p.stock_limit - payguard._stock_held(p.id), 0) end)
         order by p.amount_minor, p.id), '[]'::jsonb)
    from payguard.credit_packages p
   where p.active and not exists (select 1 from payguard.credit_plans c where c.package_id = p.id);
$$;

create function payguard._plan_json(p payguard.credit_packages, c payguard.credit_plans) returns jsonb
  language sql immutable security definer set search_path = ''
as $$
  select jsonb_build_object('id', p.id, 'name', p.name, 'amount_minor', p.amount_minor, 'currency', p.currency,
                            'credits', p.credits, 'price_ref', c.price_ref, 'interval', c.interval,
                            'interval_count', c.interval_count, 'expiry_policy', c.expiry_policy, 'active', p.active);
$$;

create function payguard.list_plans() returns jsonb
  language sql stable security definer set search_path = ''
as $$
  select coalesce(jsonb_agg(payguard._plan_json(p, c) order by p.amount_minor, p.id), '[]'::jsonb)
    from payguard.credit_plans c join payguard.credit_packages p on p.id = c.package_id
   where p.active;
$$;

-- The plan a subscribe checkout asks for, with whether the user already holds a live subscription to it
-- (a second one would bill twice). Null for no such active plan.
create function payguard.plan_for_checkout(p_user_id uuid, p_package_id text) returns jsonb
  language sql stable security definer set search_path = ''
as $$
  select payguard._plan_json(p, c) || jsonb_build_object('subscribed', exists (
           select 1 from payguard.subscriptions s
            where s.user_id = p_user_id and s.package_id = p.id
              and s.status in ('active', 'past_due', 'trialing', 'incomplete', 'unpaid')))
    from payguard.credit_plans c join payguard.credit_packages p on p.id = c.package_id
   where p.id = p_package_id and p.active;
$$;

-- checkout_begin as before, except that a plan is no one-off package: it is bought by subscribing.
create or replace function payguard.checkout_begin(
  p_user_id uuid, p_package_id text, p_provider text, p_idempotency_key text, p_request_hash text,
  p_now timestamptz, p_expires_in_seconds int,
  p_pending_max int default null, p_package_pending_max int default null, p_stock_max int default null
) returns jsonb language plpgsql security definer set search_path = ''
as $$
declare
  request payguard.checkout_requests;
  reserved jsonb;
  limited text;
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
  if exists (select 1 from payguard.credit_plans where package_id = p_package_id) then
    return jsonb_build_object('outcome', 'unknown_package', 'order', null, 'response', null);
  end if;
  if payguard._sales_paused(p_package_id) then
    return jsonb_build_object('outcome', 'sales_paused', 'order', null, 'response', null);
  end if;
  if p_provider = 'wechatpay' and exists (
    select 1 from payguard.credit_packages where id = p_package_id and currency <> 'CNY'
  ) then
    return jsonb_build_object('outcome', 'currency_not_supported', 'order', null, 'response', null);
  end if;
  perform pg_advisory_xact_lock(hashtextextended('checkout-user:' || p_user_id::text, 0));
  limited := payguard._checkout_limit_reached(p_user_id, p_package_id, p_pending_max, p_package_pending_max,
                                              p_stock_max);
  if limited is not null then
    return jsonb_build_object('outcome', limited, 'order', null, 'response', null);
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

-- ==== subscription state =========================================================================
-- Internal: the subscription row for a report about it (an invoice or a customer.subscription.* event),
-- written when first seen: whose it is from the metadata payguard's checkout wrote, the plan from the
-- report's price, else the metadata's package. Null when neither names a user and a plan. A row that
-- exists is answered as it is: what changes it is _apply_subscription_state, newest report first.
create function payguard._subscription_row(p_ref text, p_metadata jsonb, p_price_ref text, p_now timestamptz)
  returns payguard.subscriptions language plpgsql security definer set search_path = ''
as $$
declare
  s payguard.subscriptions;
  user_text text := p_metadata ->> 'user_id';
  plan_package text;
begin
  perform payguard._lock_key('subscription:stripe:' || p_ref);
  select * into s from payguard.subscriptions where id = p_ref for update;
  if found then
    return s;
  end if;
  select c.package_id into plan_package from payguard.credit_plans c where c.price_ref = p_price_ref;
  if plan_package is null then
    select c.package_id into plan_package from payguard.credit_plans c where c.package_id = p_metadata ->> 'package_id';
  end if;
  if plan_package is null or user_text is null
     or user_text !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
    return null;
  end if;
  insert into payguard.subscriptions (id, user_id, package_id, status, created_at, updated_at)
  values (p_ref, user_text::uuid, plan_package, 'unknown', p_now, p_now)
  returning * into s;
  return s;
end $$;

-- Internal: a customer.subscription.* report (or the re-check's retrieval). Reports are ordered by Stripe's
-- time, then by the period they state: a newer one sets status, period, cancel flag and plan; an older one
-- changes nothing. Stripe's times are seconds, so two reports can tie: when tied ones disagree, which is
-- newer cannot be told, and the subscription is marked for the re-check to ask Stripe (`resync`).
create function payguard._apply_subscription_state(p_fact jsonb, p_source text, p_now timestamptz)
  returns jsonb language plpgsql security definer set search_path = ''
as $$
declare
  s payguard.subscriptions;
  reported timestamptz := (p_fact ->> 'reported_at')::timestamptz;
  period_start timestamptz := (p_fact ->> 'current_period_start')::timestamptz;
  plan_package text;
  same boolean;
begin
  s := payguard._subscription_row(p_fact ->> 'subscription_ref', p_fact -> 'metadata', p_fact ->> 'price_ref', p_now);
  if s.id is null then
    return jsonb_build_object('outcome', 'unattributed', 'order', null);
  end if;
  select c.package_id into plan_package from payguard.credit_plans c where c.price_ref = p_fact ->> 'price_ref';
  if s.status_at is not null and (s.status_at, coalesce(s.current_period_start, '-infinity'))
                                 > (reported, coalesce(period_start, '-infinity')) then
    return jsonb_build_object('outcome', 'stale', 'order', null, 'subscription', to_jsonb(s));
  end if;
  if s.status_at = reported and s.current_period_start is not distinct from period_start then
    same := s.status = p_fact ->> 'status'
            and s.cancel_at_period_end = coalesce((p_fact ->> 'cancel_at_period_end')::boolean, s.cancel_at_period_end)
            and s.package_id = coalesce(plan_package, s.package_id);
    if not same then
      update payguard.subscriptions set resync = true, next_check_at = null, updated_at = p_now
       where id = s.id returning * into s;
    end if;
    return jsonb_build_object('outcome', case when same then 'stale' else 'ambiguous' end, 'order', null,
                              'subscription', to_jsonb(s));
  end if;
  update payguard.subscriptions
     set status = p_fact ->> 'status', status_at = reported,
         current_period_start = coalesce(period_start, current_period_start),
         current_period_end = coalesce((p_fact ->> 'current_period_end')::timestamptz, current_period_end),
         cancel_at_period_end = coalesce((p_fact ->> 'cancel_at_period_end')::boolean, cancel_at_period_end),
         package_id = coalesce(plan_package, package_id),
         resync = false, check_attempts = 0, next_check_at = null, updated_at = p_now
   where id = s.id returning * into s;
  return jsonb_build_object('outcome', 'subscription_' || s.status, 'order', null, 'subscription', to_jsonb(s));
end $$;

-- ==== the grant rule =============================================================================
-- Internal: what one paid invoice grants. Every line must bill a plan's price. A full-period line (creation,
-- cycle) grants the plan's credits times its quantity and must cost the plan's price times its quantity in
-- the plan's currency. Proration lines (a plan change mid-period) grant credits in proportion to their money,
-- `credits × line amount / plan price` (the unused rest of the old plan is a negative line), summed and
-- rounded down once; a net of zero or less grants nothing and takes nothing back.
-- Answers {credits, expected_minor (what the lines should cost), package_id (the plan of the invoice's
-- largest line), rule, unhandled (why no rule applies: a human grants by hand), mismatch (a line that does not
-- cost what its plan says: review)}.
create function payguard._invoice_grant(p_fact jsonb) returns jsonb
  language plpgsql stable security definer set search_path = ''
as $$
declare
  line jsonb;
  pkg payguard.credit_packages;
  lines jsonb := coalesce(p_fact -> 'lines', '[]'::jsonb);
  full_credits bigint := 0;
  prorated numeric := 0;
  expected bigint := 0;
  largest bigint;
  plan_package text;
  unhandled text;
  mismatch text;
  reason text := p_fact ->> 'billing_reason';
  quantity bigint;
  amount bigint;
begin
  if reason is null or reason not like 'subscription%' then
    unhandled := format('billing reason %s is not a subscription''s', coalesce(reason, 'null'));
  elsif jsonb_array_length(lines) = 0 then
    unhandled := 'the invoice lists no lines';
  end if;
  for line in select l from jsonb_array_elements(lines) l loop
    pkg := null;
    select p.* into pkg from payguard.credit_plans c join payguard.credit_packages p on p.id = c.package_id
     where c.price_ref = line ->> 'price_ref';
    if pkg.id is null then
      unhandled := coalesce(unhandled, format('a line bills %s, which is no plan', coalesce(line ->> 'price_ref', 'no price')));
      continue;
    end if;
    quantity := coalesce((line ->> 'quantity')::bigint, 1);
    amount := (line ->> 'amount_minor')::bigint;
    if pkg.currency <> upper(line ->> 'currency') then
      mismatch := coalesce(mismatch, format('a line in %s bills plan %s, priced in %s', upper(line ->> 'currency'),
                                            pkg.id, pkg.currency));
    end if;
    if coalesce((line ->> 'proration')::boolean, false) then
      prorated := prorated + pkg.credits::numeric * amount / pkg.amount_minor;
      expected := expected + amount;
    else
      full_credits := full_credits + pkg.credits * quantity;
      expected := expected + pkg.amount_minor * quantity;
      if amount <> pkg.amount_minor * quantity then
        mismatch := coalesce(mismatch, format('the line of plan %s costs %s, the plan %s × %s', pkg.id, amount,
                                              pkg.amount_minor, quantity));
      end if;
    end if;
    if largest is null or amount > largest then
      largest := amount;
      plan_package := pkg.id;
    end if;
  end loop;
  return jsonb_build_object(
    'credits', greatest(full_credits + floor(prorated)::bigint, 0), 'expected_minor', expected,
    'package_id', plan_package, 'unhandled', unhandled, 'mismatch', mismatch,
    'rule', case when prorated <> 0 and full_credits <> 0 then 'full period + proration'
                 when prorated <> 0 then 'proration'
                 else 'full period' end);
end $$;

-- ==== paid invoices ==============================================================================
-- Internal: expires, once each, what is left of the reset-policy grants (posted ones) of this subscription's
-- ended periods: those a later period's (cycle) invoice is recorded for. What is left is the order's own ledger net,
-- capped by the user's balance. Runs before and after every grant, so an invoice of an ended period that
-- arrives late expires too, and which period's invoice arrived first does not change what expires.
create function payguard._expire_ended_grants(p_subscription_id text, p_now timestamptz)
  returns void language plpgsql security definer set search_path = ''
as $$
declare
  r record;
  net bigint;
  balance bigint;
  taken bigint;
begin
  for r in
    select i.invoice_ref, i.order_id, o.user_id from payguard.subscription_invoices i
      join payguard.payment_orders o on o.id = i.order_id
      join payguard.credit_plans c on c.package_id = o.package_id
     where i.subscription_id = p_subscription_id and c.expiry_policy = 'reset' and i.expired_at is null
       and exists (select 1 from payguard.credit_ledger l where l.order_id = i.order_id and l.kind = 'purchase')
       and exists (select 1 from payguard.subscription_invoices k
                    where k.subscription_id = i.subscription_id and k.billing_reason = 'subscription_cycle'
                      and k.order_id is not null and k.period_start >= i.period_end)
     order by i.period_start, i.invoice_ref
  loop
    -- Under the grant's row lock, which its refunds and disputes take too (_sync_order): an expiry and a
    -- clawback of one grant never read the ledger before the other has written it.
    perform 1 from payguard.payment_orders o where o.id = r.order_id for update;
    select coalesce(sum(l.credits), 0) into net from payguard.credit_ledger l where l.order_id = r.order_id;
    select b.credits into balance from payguard.credit_balances b where b.user_id = r.user_id;
    taken := greatest(least(net, coalesce(balance, 0)), 0);
    update payguard.subscription_invoices
       set expired_at = p_now, spent_at_expiry = greatest(net - taken, 0)
     where invoice_ref = r.invoice_ref;
    if taken > 0 then
      insert into payguard.credit_ledger (user_id, expired_order_id, kind, credits, provider, note, created_at)
      values (r.user_id, r.order_id, 'expiry', -taken, 'stripe', 'reset: the period ended', p_now);
      perform payguard._credit_balance(r.user_id, r.order_id, 'expiry', -taken, 'stripe', null,
                                       'reset: the period ended', p_now);
    end if;
    perform payguard._order_event(r.order_id, p_now, 'credits_expired', 'settlement',
      jsonb_build_object('credits', taken, 'spent', greatest(net - taken, 0), 'policy', 'reset'));
  end loop;
end $$;

-- Internal: a paid full-period invoice says which period the subscription is in, when no newer report did;
-- it also ends the re-checks of that period.
create function payguard._invoice_period_seen(s payguard.subscriptions, p_fact jsonb, p_now timestamptz)
  returns void language plpgsql security definer set search_path = ''
as $$
begin
  if s.id is null or p_fact ->> 'billing_reason' not in ('subscription_create', 'subscription_cycle') then
    return;
  end if;
  update payguard.subscriptions
     set current_period_start = (p_fact ->> 'period_start')::timestamptz,
         current_period_end = (p_fact ->> 'period_end')::timestamptz,
         status = case when status = 'unknown' then 'active' else status end,
         check_attempts = 0, next_check_at = null, updated_at = p_now
   where id = s.id
     and (current_period_start is null or current_period_start <= (p_fact ->> 'period_start')::timestamptz);
end $$;

-- Internal: records a paid invoice with what it granted and how.
create function payguard._record_invoice(p_fact jsonb, p_subscription_id text, p_credits bigint, p_rule text,
                                         p_order_id text, p_now timestamptz)
  returns void language sql security definer set search_path = ''
as $$
  insert into payguard.subscription_invoices (invoice_ref, subscription_id, billing_reason, period_start, period_end,
                                              amount_paid_minor, currency, credits, rule, order_id, paid_at, recorded_at)
  values (p_fact ->> 'invoice_ref', p_subscription_id, coalesce(p_fact ->> 'billing_reason', 'unknown'),
          (p_fact ->> 'period_start')::timestamptz, (p_fact ->> 'period_end')::timestamptz,
          (p_fact ->> 'amount_minor')::bigint, upper(p_fact ->> 'currency'), p_credits, p_rule, p_order_id,
          (p_fact ->> 'paid_at')::timestamptz, p_now);
$$;

-- Internal: what an expiry takes follows the grant it expired: the grant's ledger net less what the user
-- had spent of it when it expired. A refund or dispute recorded later lowers the net, and the expiry gives
-- back what it no longer may take; a failed refund or a won dispute raises it, and the expiry takes that too.
-- So a refund or dispute arriving before or after the renewal leaves the same balance.
create function payguard._true_up_expiry(p_order_id text, p_now timestamptz)
  returns void language plpgsql security definer set search_path = ''
as $$
declare
  i payguard.subscription_invoices;
  o payguard.payment_orders;
  taken bigint;
  net bigint;
  target bigint;
begin
  select * into i from payguard.subscription_invoices where order_id = p_order_id and expired_at is not null;
  if not found then
    return;
  end if;
  select * into o from payguard.payment_orders where id = p_order_id;
  select -coalesce(sum(l.credits), 0) into taken from payguard.credit_ledger l where l.expired_order_id = p_order_id;
  select coalesce(sum(l.credits), 0) into net from payguard.credit_ledger l where l.order_id = p_order_id;
  target := greatest(net - i.spent_at_expiry, 0);
  if target <> taken then
    insert into payguard.credit_ledger (user_id, expired_order_id, kind, credits, provider, note, created_at)
    values (o.user_id, p_order_id, 'adjustment', taken - target, o.provider, 'expiry follows the grant''s refunds', p_now);
    perform payguard._credit_balance(o.user_id, p_order_id, 'expiry', taken - target, o.provider, null,
                                     'expiry follows the grant''s refunds', p_now);
  end if;
end $$;

-- _post_credits and _credit_balance as before; each then brings an expired grant's expiry to its net.
create or replace function payguard._post_credits(
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
  perform payguard._true_up_expiry(p_order_id, p_now);
  return true;
end $$;

create or replace function payguard._credit_balance(
  p_user_id uuid, p_order_id text, p_kind text, p_credits bigint, p_provider text, p_ref text, p_note text, p_now timestamptz
) returns void language plpgsql security definer set search_path = ''
as $$
begin
  insert into payguard.credit_balances as b (user_id, credits, updated_at) values (p_user_id, p_credits, p_now)
  on conflict (user_id) do update set credits = b.credits + excluded.credits, updated_at = excluded.updated_at;
  perform payguard._notify_app_settled(p_user_id, p_order_id, p_kind, p_credits, p_provider, p_ref, p_note, p_now);
  if p_kind <> 'expiry' then
    perform payguard._true_up_expiry(p_order_id, p_now);
  end if;
end $$;

-- Internal: one paid invoice (fact `invoice_paid`), recorded once per invoice id. Its grant is an order written
-- here and paid through apply_payment. A line that does not cost what its plan says writes the order at the
-- plan's price, so apply_payment finds the payment's amount wrong and holds the grant for review as it does
-- for a one-off order. An invoice no rule covers, or one naming no user payguard knows, grants nothing and
-- opens a critical incident: money was taken and nobody is credited. It is not recorded, so once the plan
-- exists the next look at it (the re-check, a repair) grants it.
create function payguard._settle_invoice(p_fact jsonb, p_source text, p_now timestamptz)
  returns jsonb language plpgsql security definer set search_path = ''
as $$
declare
  invoice text := p_fact ->> 'invoice_ref';
  paid bigint := (p_fact ->> 'amount_minor')::bigint;
  discount bigint := coalesce((p_fact ->> 'discount_minor')::bigint, 0);
  s payguard.subscriptions;
  g jsonb;
  o payguard.payment_orders;
  granted bigint;
  why text;
  applied jsonb;
  recorded_order text;
begin
  s := payguard._subscription_row(p_fact ->> 'subscription_ref', p_fact -> 'metadata', null, p_now);
  select i.order_id into recorded_order from payguard.subscription_invoices i where i.invoice_ref = invoice;
  if found then
    return jsonb_build_object('outcome', 'duplicate',
      'order', (select to_jsonb(x) from payguard.payment_orders x where x.id = recorded_order));
  end if;
  perform payguard._invoice_period_seen(s, p_fact, p_now);
  g := payguard._invoice_grant(p_fact);
  granted := (g ->> 'credits')::bigint;
  why := case when s.id is null then 'it names no user and plan payguard knows' else g ->> 'unhandled' end;
  if why is not null then
    perform payguard._raise('subscription_invoice_ungranted:stripe:' || invoice, 'subscription_invoice_ungranted',
      'critical', format('Invoice %s of %s was paid, but %s: nobody is credited', invoice, p_fact ->> 'subscription_ref', why),
      jsonb_build_object('invoice_ref', invoice, 'subscription_ref', p_fact ->> 'subscription_ref', 'user_id', s.user_id,
                         'amount_minor', paid, 'currency', upper(p_fact ->> 'currency'), 'reason', why), p_now);
    return payguard._with_incidents(jsonb_build_object('outcome', 'ungranted', 'order', null));
  end if;
  if g ->> 'mismatch' is null and (granted = 0 or paid + discount = 0) then
    perform payguard._record_invoice(p_fact, s.id, 0, (g ->> 'rule') || ': nothing due', null, p_now);
    return jsonb_build_object('outcome', 'nothing_granted', 'order', null);
  end if;
  insert into payguard.payment_orders (id, user_id, package_id, provider, amount_minor, currency, credits, provider_ref,
                                       source, expires_at, created_at, updated_at)
  select invoice, s.user_id, p.id, 'stripe',
         case when g ->> 'mismatch' is null then paid + discount else greatest((g ->> 'expected_minor')::bigint, 1) end,
         p.currency, greatest(granted, 1), invoice, p_source, p_now, p_now, p_now
    from payguard.credit_packages p where p.id = g ->> 'package_id'
  returning * into o;
  perform payguard._order_event(o.id, p_now, 'created_from_invoice', p_source,
    jsonb_build_object('subscription_ref', s.id, 'billing_reason', p_fact ->> 'billing_reason', 'rule', g ->> 'rule',
                       'credits', granted, 'mismatch', g ->> 'mismatch'));
  perform payguard._record_invoice(p_fact, s.id, o.credits, g ->> 'rule', o.id, p_now);
  -- The ended periods expire before this period's credits arrive, so the balance cap sees only theirs.
  perform payguard._expire_ended_grants(s.id, p_now);
  applied := payguard.apply_payment('stripe', o.id, coalesce(p_fact ->> 'payment_ref', invoice), paid,
    p_fact ->> 'currency', (p_fact ->> 'paid_at')::timestamptz, p_source, p_now, null, discount, invoice);
  perform payguard._expire_ended_grants(s.id, p_now);
  return applied;
end $$;

-- ==== settle event ===============================================================================
-- _settle_fact as before, plus a paid invoice (`invoice_paid`: invoice_ref, subscription_ref, billing_reason,
-- payment_ref, amount_minor (paid, without tax), discount_minor, currency, paid_at, period_start, period_end,
-- metadata, lines [{price_ref, amount_minor, currency, quantity, proration}]) and a subscription's state
-- (`subscription_state`: subscription_ref, status, reported_at, current_period_start/end, cancel_at_period_end,
-- price_ref, metadata). Neither needs an order to exist: each writes what it is about.
create or replace function payguard._settle_fact(p_fact jsonb, p_order_id text, p_source text, p_now timestamptz)
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
        p_fact ->> 'provider_ref', coalesce((p_fact ->> 'refunded_at_provider')::boolean, false));
    when 'invoice_paid' then
      return payguard._settle_invoice(p_fact, p_source, p_now);
    when 'subscription_state' then
      return payguard._apply_subscription_state(p_fact, p_source, p_now);
    when 'refunded' then
      return payguard.apply_refund(provider, p_order_id, p_fact ->> 'refund_ref', (p_fact ->> 'amount_minor')::bigint,
        p_fact ->> 'currency', p_source, p_now, p_fact ->> 'payment_ref');
    when 'refund_failed' then
      return payguard.fail_refund(provider, p_fact ->> 'refund_ref', p_source, p_now, p_fact ->> 'payment_ref');
    when 'disputed' then
      return payguard.apply_dispute(provider, p_order_id, p_fact ->> 'dispute_ref', p_fact ->> 'payment_ref',
        (p_fact ->> 'amount_minor')::bigint, p_fact ->> 'currency', p_fact ->> 'state', p_fact ->> 'policy', p_source, p_now);
    when 'awaiting_payment' then
      return payguard.await_payment(p_order_id, p_fact ->> 'payment_ref', (p_fact ->> 'until')::timestamptz, p_now);
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

-- settle_event as before; a subscription's facts need no located order either.
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
              where f ->> 'kind' not in ('refunded', 'refund_failed', 'disputed', 'invoice_paid', 'subscription_state')
                and coalesce(f ->> 'order_id', located) is null) then
    return jsonb_build_object('status', 'unlocated');
  end if;
  for fact in select f from jsonb_array_elements(p_facts) f loop
    fact_order := coalesce(fact ->> 'order_id', located);
    applied := payguard._settle_fact(fact, fact_order, p_source, p_now) - 'incidents';
    results := results || jsonb_build_array(applied || jsonb_build_object('order_id',
      coalesce(applied -> 'order' ->> 'id', fact_order)));
  end loop;
  perform payguard.finish_event(p_provider, p_event_id,
    case when jsonb_array_length(p_facts) = 0 then 'ignored' else 'processed' end, p_note, p_now);
  return payguard._with_incidents(jsonb_build_object('status', 'settled', 'finished', true, 'results', results));
end $$;

-- ==== reconcile ==================================================================================
-- Live subscriptions to ask Stripe about, leased for a while (doubling per attempt, at most a day): the
-- current period began p_grace_seconds ago and no paid invoice of it is recorded, or the period payguard
-- knows ended p_grace_seconds ago (no report of the renewal came at all).
create function payguard.lease_due_subscriptions(p_limit int, p_grace_seconds int, p_lease_seconds int,
                                                 p_now timestamptz)
  returns jsonb language plpgsql security definer set search_path = ''
as $$
declare
  leased jsonb;
begin
  with due as (
    select s.id from payguard.subscriptions s
     where (s.next_check_at is null or s.next_check_at <= p_now)
       and (s.resync or s.status in ('active', 'past_due', 'trialing'))
       and (s.resync
            or (s.current_period_start <= p_now - make_interval(secs => p_grace_seconds)
             and not exists (select 1 from payguard.subscription_invoices i
                              where i.subscription_id = s.id and i.period_start <= s.current_period_start
                                and i.period_end > s.current_period_start))
            or s.current_period_end <= p_now - make_interval(secs => p_grace_seconds))
     order by s.current_period_start, s.id
     limit p_limit
     for update skip locked
  ), leased_rows as (
    update payguard.subscriptions s
       set next_check_at = p_now + make_interval(secs => least(p_lease_seconds * power(2, least(s.check_attempts, 16)), 86400)),
           check_attempts = s.check_attempts + 1, updated_at = p_now
      from due where s.id = due.id
    returning s.*
  )
  select coalesce(jsonb_agg(to_jsonb(l) order by l.current_period_start, l.id), '[]'::jsonb) into leased from leased_rows l;
  return leased;
end $$;

-- ==== console ====================================================================================
-- One user's subscriptions, newest first, each with every recorded invoice and its grant.
create function payguard.admin_user_subscriptions(p_user_id uuid) returns jsonb
  language sql stable security definer set search_path = ''
as $$
  select coalesce(jsonb_agg(to_jsonb(s) || jsonb_build_object(
           'plan_name', (select p.name from payguard.credit_packages p where p.id = s.package_id),
           'invoices', (select coalesce(jsonb_agg(to_jsonb(i) || jsonb_build_object(
                                          'order_status', o.status,
                                          'granted', (select coalesce(sum(l.credits), 0) from payguard.credit_ledger l
                                                       where l.order_id = i.order_id and l.kind = 'purchase'),
                                          'expired', (select coalesce(-sum(l.credits), 0) from payguard.credit_ledger l
                                                       where l.expired_order_id = i.order_id))
                                        order by i.period_start desc, i.invoice_ref), '[]'::jsonb)
                          from payguard.subscription_invoices i
                          left join payguard.payment_orders o on o.id = i.order_id
                         where i.subscription_id = s.id))
         order by s.created_at desc, s.id), '[]'::jsonb)
    from payguard.subscriptions s where s.user_id = p_user_id;
$$;

select payguard._secure_functions();
