-- payguard's schema as released: the migration history up to 2026-12-03 folded into one file. Later
-- changes are new migrations after this one (forward-only: supabase/migrations.lock lists every released
-- file with its checksum, and CI fails when one changes). Each migration that creates or replaces a function
-- ends with `select payguard._secure_functions();`, so no function is ever left executable by PUBLIC.
--
-- Runs unchanged on Supabase (as its non-superuser `postgres`), on a Postgres 15+ prepared like a Supabase
-- project (dev/supabase/) and on PGlite. Everything lives in schema payguard; nothing is created in public.

-- ==== roles ======================================================================================
-- Roles and auth.uid() as Supabase provides them. Every Supabase project has these roles already; they
-- are created only where missing (checked by name first: on Postgres 15 a non-superuser's
-- `create role … bypassrls` fails with 42501 before the "already exists" check). Roles are cluster-wide
-- and test databases are created concurrently, so a role created by someone else meanwhile is no error.
do $$
declare
  wanted record;
begin
  for wanted in
    select * from (values ('anon', 'nologin noinherit'), ('authenticated', 'nologin noinherit'),
                          ('service_role', 'nologin noinherit bypassrls')) as r(name, options)
  loop
    if not exists (select 1 from pg_catalog.pg_roles where rolname = wanted.name) then
      begin
        execute format('create role %I %s', wanted.name, wanted.options);
      exception when duplicate_object or unique_violation then null;
      end;
    end if;
  end loop;
end $$;

-- Everything payguard owns lives in its own schema, so it can never collide with (or silently share
-- names with) the app's tables and functions in public. The Data API must expose it (docs/supabase.md).
create schema if not exists payguard;
grant usage on schema payguard to anon, authenticated, service_role;

do $$
begin
  if not exists (select 1 from pg_catalog.pg_namespace where nspname = 'auth') then
    create schema auth;
    grant usage on schema auth to anon, authenticated, service_role;
    -- Same contract as Supabase's auth.uid(): the `sub` claim of the caller's JWT, or null.
    create function auth.uid() returns uuid
      language sql stable
      as $fn$ select nullif(current_setting('request.jwt.claims', true)::jsonb ->> 'sub', '')::uuid $fn$;
  end if;
end $$;

-- Grants of payguard's functions, set again by every migration that creates or replaces one (as its last
-- statement): only service_role may call the API functions; the internal helpers (prefixed `_`) and
-- triggers are callable by nobody but the other functions. A new function is executable by PUBLIC by
-- default, and a per-schema default privilege cannot take that away (PUBLIC's EXECUTE is a global
-- default), so each migration closes what it created. Only schema payguard is touched: the app's
-- functions keep their grants. Runs as the migration's role, the functions' owner.
create function payguard._secure_functions() returns void
  language plpgsql set search_path = ''
as $fn$
declare
  fn record;
begin
  for fn in
    select p.oid::regprocedure as signature,
           left(p.proname, 1) = '_' or p.prorettype = 'pg_catalog.trigger'::regtype as internal
      from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
     where n.nspname = 'payguard'
  loop
    execute format('revoke execute on function %s from public, anon, authenticated', fn.signature);
    if fn.internal then
      execute format('revoke execute on function %s from service_role', fn.signature);
    else
      execute format('grant execute on function %s to service_role', fn.signature);
    end if;
  end loop;
end $fn$;

-- ==== packages ===================================================================================
-- What can be bought: a price (integer minor units + ISO currency) and the credits it grants.
-- `credits` is everything the purchase grants; `bonus_credits` is the part of it shown as a bonus, so
-- every path that snapshots `credits` (checkout, an order rebuilt from metadata) grants the same amount.
-- `stock_limit` (null = unlimited) caps how many orders may hold or have used a unit at once.
create table payguard.credit_packages (
  id text primary key check (id ~ '^[A-Za-z0-9_.-]{1,64}$'),
  name text not null,
  amount_minor bigint not null check (amount_minor > 0),
  currency char(3) not null check (currency ~ '^[A-Z]{3}$'),
  credits integer not null check (credits > 0),
  bonus_credits integer not null default 0 check (bonus_credits >= 0 and bonus_credits < credits),
  active boolean not null default true,
  stock_limit integer check (stock_limit is null or stock_limit >= 0),
  created_at timestamptz not null default now()
);

-- ==== orders =====================================================================================
-- Orders and their timeline. Amount, currency and credits are snapshots taken at creation, so a later
-- price change never alters what a customer was promised. Provider references are unique per provider.
create table payguard.payment_orders (
  id text primary key check (id ~ '^[A-Za-z0-9_-]{6,64}$'),
  user_id uuid not null,
  package_id text not null references payguard.credit_packages (id),
  provider text not null check (provider in ('stripe', 'wechatpay')),
  status text not null default 'pending' check (
    status in ('pending', 'fulfilled', 'partially_refunded', 'refunded', 'expired', 'failed', 'needs_review')
  ),
  amount_minor bigint not null check (amount_minor > 0),
  currency char(3) not null check (currency ~ '^[A-Z]{3}$'),
  credits integer not null check (credits > 0),
  provider_ref text,
  payment_ref text,
  refunded_minor bigint not null default 0 check (refunded_minor >= 0),
  review_reason text,
  source text,
  check_attempts integer not null default 0,
  next_check_at timestamptz,
  paid_at timestamptz,
  expires_at timestamptz not null,
  created_at timestamptz not null,
  updated_at timestamptz not null,
  check (refunded_minor <= amount_minor),
  check (status <> 'needs_review' or review_reason is not null),
  check (status not in ('fulfilled', 'partially_refunded', 'refunded') or (payment_ref is not null and paid_at is not null))
);
create unique index payment_orders_provider_ref on payguard.payment_orders (provider, provider_ref)
  where provider_ref is not null;
create unique index payment_orders_payment_ref on payguard.payment_orders (provider, payment_ref)
  where payment_ref is not null;
create index payment_orders_due on payguard.payment_orders (next_check_at) where status = 'pending';
create index payment_orders_user on payguard.payment_orders (user_id, created_at desc);

create table payguard.order_events (
  id bigint generated always as identity primary key,
  order_id text not null references payguard.payment_orders (id),
  at timestamptz not null,
  kind text not null,
  source text,
  detail jsonb not null default '{}'::jsonb
);
create index order_events_order on payguard.order_events (order_id, at);

-- ==== ledger =====================================================================================
-- The credit ledger is append-only (a trigger rejects UPDATE, DELETE and TRUNCATE) and is the truth;
-- credit_balances is its running sum, changed only in the same transaction as the ledger row.
-- One purchase grant per order; one clawback per provider refund id.
create table payguard.credit_ledger (
  id bigint generated always as identity primary key,
  user_id uuid not null,
  order_id text references payguard.payment_orders (id),
  kind text not null check (kind in ('purchase', 'clawback', 'adjustment')),
  credits bigint not null check (credits <> 0),
  provider text,
  refund_ref text,
  note text,
  created_at timestamptz not null,
  check (kind <> 'purchase' or (order_id is not null and credits > 0)),
  check (kind <> 'clawback' or (order_id is not null and refund_ref is not null and provider is not null and credits < 0))
);
create unique index credit_ledger_one_purchase on payguard.credit_ledger (order_id) where kind = 'purchase';
create unique index credit_ledger_one_clawback on payguard.credit_ledger (provider, refund_ref) where kind = 'clawback';
create index credit_ledger_user on payguard.credit_ledger (user_id, id);

create function payguard.credit_ledger_is_append_only() returns trigger
  language plpgsql
  set search_path = ''
as $$
begin
  raise exception 'credit_ledger is append-only (% rejected)', tg_op using errcode = '42501';
end $$;

create trigger credit_ledger_no_update before update or delete on payguard.credit_ledger
  for each row execute function payguard.credit_ledger_is_append_only();
create trigger credit_ledger_no_truncate before truncate on payguard.credit_ledger
  for each statement execute function payguard.credit_ledger_is_append_only();

create table payguard.credit_balances (
  user_id uuid primary key,
  credits bigint not null default 0,
  updated_at timestamptz not null
);

-- ==== operations =================================================================================
-- Operational tables: the webhook inbox (guard 1), incidents, cron job runs and sync cursors.
-- The inbox stores no payloads: payer data stays with the provider.
create table payguard.webhook_events (
  provider text not null check (provider in ('stripe', 'wechatpay')),
  event_id text not null,
  event_type text not null,
  order_id text,
  status text not null default 'received' check (status in ('received', 'processed', 'ignored', 'failed')),
  attempts integer not null default 1,
  last_error text,
  received_at timestamptz not null,
  finished_at timestamptz,
  primary key (provider, event_id)
);
create index webhook_events_failed on payguard.webhook_events (status) where status in ('received', 'failed');

create table payguard.incidents (
  id bigint generated always as identity primary key,
  key text not null,
  kind text not null,
  severity text not null check (severity in ('info', 'warning', 'critical')),
  status text not null default 'open' check (status in ('open', 'resolved')),
  summary text not null,
  detail jsonb not null default '{}'::jsonb,
  occurrences integer not null default 1,
  opened_at timestamptz not null,
  last_seen_at timestamptz not null,
  resolved_at timestamptz,
  -- Operator triage: an acknowledged incident is being handled; a muted one sends no reminders until then.
  acknowledged_at timestamptz,
  acknowledged_by text,
  muted_until timestamptz,
  muted_by text
);
create unique index incidents_one_open_per_key on payguard.incidents (key) where status = 'open';

create table payguard.job_runs (
  id bigint generated always as identity primary key,
  job text not null,
  -- partial: stopped at a budget (or skipped a provider) with work left for the next run.
  status text not null check (status in ('ok', 'partial', 'error')),
  started_at timestamptz not null,
  finished_at timestamptz not null,
  detail jsonb not null default '{}'::jsonb
);
create index job_runs_recent on payguard.job_runs (started_at desc);

create table payguard.sync_cursors (
  name text primary key,
  value jsonb not null,
  updated_at timestamptz not null
);

-- ==== security ===================================================================================
-- Row-level security on every table. Nobody writes tables directly: all writes go through the
-- SECURITY DEFINER functions, executable by service_role only. End users (authenticated) may read
-- their own orders, ledger and balance.
alter table payguard.credit_packages enable row level security;
alter table payguard.payment_orders enable row level security;
alter table payguard.order_events enable row level security;
alter table payguard.credit_ledger enable row level security;
alter table payguard.credit_balances enable row level security;
alter table payguard.webhook_events enable row level security;
alter table payguard.incidents enable row level security;
alter table payguard.job_runs enable row level security;
alter table payguard.sync_cursors enable row level security;

-- Only payguard's own tables: the app's other tables in public keep their grants.
revoke all on payguard.credit_packages, payguard.payment_orders, payguard.order_events, payguard.credit_ledger,
  payguard.credit_balances, payguard.webhook_events, payguard.incidents, payguard.job_runs, payguard.sync_cursors
  from public, anon, authenticated, service_role;
revoke execute on function payguard.credit_ledger_is_append_only() from public;

grant select on payguard.payment_orders, payguard.credit_ledger, payguard.credit_balances to authenticated;
grant select on payguard.credit_packages to anon, authenticated;

create policy own_orders on payguard.payment_orders for select to authenticated using (user_id = auth.uid());
create policy own_ledger on payguard.credit_ledger for select to authenticated using (user_id = auth.uid());
create policy own_balance on payguard.credit_balances for select to authenticated using (user_id = auth.uid());
create policy active_packages on payguard.credit_packages for select to anon, authenticated using (active);

-- ==== order functions ============================================================================
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

-- ==== refunds ====================================================================================
-- Every payment fact is kept, so the final state of an order depends only on the set of facts that
-- happened, never on their arrival order or count (docs/schema.md, "Settlement").

-- What settlement records on the order itself: what a checkout discount took off the price (a payment
-- matches when amount + discount = the order amount) and an operator's review decision.
alter table payguard.payment_orders
  add column discount_minor bigint not null default 0 check (discount_minor >= 0),
  -- An operator's decision on a review (`fulfil` / `reject`); a rejected order keeps no purchase credits.
  add column review_resolution text check (review_resolution in ('fulfil', 'reject'));

-- One row per provider payment seen for an order. `role`: the credited payment (`primary`, the earliest
-- matching one by paid_at then reference), another matching payment (`second`: paid twice, a human
-- refunds it), a payment that does not match the order (`mismatch`), or one whose references disagree
-- with the order on record (`disputed`).
create table payguard.order_payments (
  provider text not null check (provider in ('stripe', 'wechatpay')),
  payment_ref text not null,
  order_id text not null references payguard.payment_orders (id),
  role text not null check (role in ('primary', 'second', 'mismatch', 'disputed')),
  amount_minor bigint not null,
  discount_minor bigint not null default 0,
  currency char(3) not null,
  paid_at timestamptz not null,
  recorded_at timestamptz not null,
  primary key (provider, payment_ref)
);
create index order_payments_order on payguard.order_payments (order_id);
alter table payguard.order_payments enable row level security;
revoke all on payguard.order_payments from public, anon, authenticated, service_role;

-- Facts that cannot apply yet: a refund whose payment has not been seen, a payment for an order that is
-- not written and carries no usable metadata. Keyed by the provider's own id; applied and deleted in the
-- same transaction as the fact that makes them applicable. Old ones are an audit finding.
create table payguard.held_facts (
  provider text not null check (provider in ('stripe', 'wechatpay')),
  kind text not null check (kind in ('payment', 'refund')),
  fact_ref text not null,
  order_id text,
  payment_ref text,
  fact jsonb not null,
  held_at timestamptz not null,
  primary key (provider, kind, fact_ref),
  check (order_id is not null or payment_ref is not null)
);
create index held_facts_order on payguard.held_facts (order_id) where order_id is not null;
create index held_facts_payment on payguard.held_facts (provider, payment_ref) where payment_ref is not null;
create index held_facts_age on payguard.held_facts (held_at);
alter table payguard.held_facts enable row level security;
revoke all on payguard.held_facts from public, anon, authenticated, service_role;

-- One row per provider refund recorded against a paid order: the idempotency key of its clawback, kept
-- even when a tiny refund rounds to zero credits and so writes no ledger row. `payment_ref` is the
-- payment it refunds when the provider says so (a refund of a second payment claws nothing back).
-- A refund that later fails keeps its row (status `failed`); its clawback is reversed once.
create table payguard.payment_refunds (
  provider text not null check (provider in ('stripe', 'wechatpay')),
  refund_ref text not null,
  order_id text not null references payguard.payment_orders (id),
  payment_ref text,
  amount_minor bigint not null check (amount_minor > 0),
  status text not null default 'succeeded' check (status in ('succeeded', 'failed')),
  -- null until the order's grant stands and the clawback is computed.
  credits_clawed_back bigint check (credits_clawed_back >= 0),
  reversed_at timestamptz,
  applied_at timestamptz not null,
  primary key (provider, refund_ref)
);
create index payment_refunds_order on payguard.payment_refunds (order_id);
alter table payguard.payment_refunds enable row level security;
revoke all on payguard.payment_refunds from public, anon, authenticated, service_role;

-- A provider's word that a refund failed (Stripe `refund.failed`), kept whether or not the refund itself
-- has been seen: whichever arrives first, the refund ends failed and claws back nothing.
create table payguard.refund_failures (
  provider text not null check (provider in ('stripe', 'wechatpay')),
  refund_ref text not null,
  failed_at timestamptz not null,
  primary key (provider, refund_ref)
);
alter table payguard.refund_failures enable row level security;
revoke all on payguard.refund_failures from public, anon, authenticated, service_role;

-- A reversed clawback is an `adjustment` keyed by the refund id: at most one per refund.
create unique index credit_ledger_one_reversal on payguard.credit_ledger (provider, refund_ref)
  where kind = 'adjustment' and refund_ref is not null;

-- ==== settlement functions =======================================================================
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

-- ==== transition functions =======================================================================
-- Non-payment transitions and the reconcile lease. Only a pending order may expire or fail; terminal
-- states never regress (a payment for an expired order still wins, through apply_payment).

-- Records one provider check of a pending order and schedules the next on the reconcile backoff
-- (1, 2, 5, 10, 20, 30 min, then every 30 min), never later than the order's expiry, so the tick at
-- expiry closes it at the provider. `p_delay_seconds` overrides the schedule (USERPAYING: check soon).
create function payguard.record_check(p_order_id text, p_now timestamptz, p_delay_seconds int default null)
  returns jsonb language plpgsql security definer set search_path = ''
as $$
declare
  o payguard.payment_orders;
  backoff_seconds int[] := array[60, 120, 300, 600, 1200, 1800];
  next_at timestamptz;
begin
  select * into o from payguard.payment_orders where id = p_order_id for update;
  if not found or o.status <> 'pending' then
    return to_jsonb(o);
  end if;
  next_at := p_now + make_interval(secs => coalesce(p_delay_seconds,
    backoff_seconds[least(o.check_attempts + 1, array_length(backoff_seconds, 1))]));
  if o.expires_at > p_now then
    next_at := least(next_at, o.expires_at);
  end if;
  update payguard.payment_orders
     set check_attempts = o.check_attempts + 1, updated_at = p_now, next_check_at = next_at
   where id = o.id returning * into o;
  return to_jsonb(o);
end $$;

create function payguard._transition(p_order_id text, p_to text, p_reason text, p_now timestamptz) returns jsonb
  language plpgsql security definer set search_path = ''
as $$
declare
  o payguard.payment_orders;
begin
  select * into o from payguard.payment_orders where id = p_order_id for update;
  if not found then
    return jsonb_build_object('outcome', 'noop', 'order', null);
  end if;
  if p_to = 'needs_review' then
    if o.status = 'needs_review' then
      return jsonb_build_object('outcome', 'noop', 'order', to_jsonb(o));
    end if;
    o := payguard._flag(o, p_reason, null, p_now, null);
    return jsonb_build_object('outcome', 'needs_review', 'order', to_jsonb(o));
  end if;
  if o.status <> 'pending' then
    return jsonb_build_object('outcome', 'noop', 'order', to_jsonb(o));
  end if;
  update payguard.payment_orders set status = p_to, next_check_at = null, updated_at = p_now
   where id = o.id returning * into o;
  perform payguard._order_event(o.id, p_now, p_to, null, jsonb_build_object('reason', p_reason));
  return jsonb_build_object('outcome', p_to, 'order', to_jsonb(o));
end $$;

create function payguard.expire_order(p_order_id text, p_reason text, p_now timestamptz) returns jsonb
  language sql security definer set search_path = ''
as $$ select payguard._transition(p_order_id, 'expired', p_reason, p_now) $$;

create function payguard.fail_order(p_order_id text, p_reason text, p_now timestamptz) returns jsonb
  language sql security definer set search_path = ''
as $$ select payguard._transition(p_order_id, 'failed', p_reason, p_now) $$;

create function payguard.flag_order(p_order_id text, p_reason text, p_now timestamptz) returns jsonb
  language sql security definer set search_path = ''
as $$ select payguard._transition(p_order_id, 'needs_review', p_reason, p_now) $$;

-- Hands out due pending orders and pushes their next check forward, so overlapping cron runs never
-- work the same order: rows another run holds are skipped, rows it leased are no longer due.
create function payguard.lease_due_orders(p_limit int, p_lease_seconds int, p_now timestamptz, p_provider text default null)
  returns jsonb language plpgsql security definer set search_path = ''
as $$
declare
  leased jsonb;
begin
  with due as (
    select id from payguard.payment_orders
     where status = 'pending' and next_check_at <= p_now and (p_provider is null or provider = p_provider)
     order by next_check_at, id
     limit least(greatest(p_limit, 0), 1000)
     for update skip locked
  ), updated as (
    update payguard.payment_orders o set next_check_at = p_now + make_interval(secs => p_lease_seconds)
      from due where o.id = due.id
    returning o.*
  )
  select coalesce(jsonb_agg(to_jsonb(updated) order by updated.created_at), '[]'::jsonb) into leased from updated;
  return leased;
end $$;

-- Operator decision on an order in review. Every fact recorded meanwhile is kept, so the result is
-- what those facts imply: `fulfil` credits the recorded payment (the earliest matching one; never a
-- made-up reference: with no payment recorded there is nothing to fulfil) and keeps its refunds; another
-- matching payment is named in an incident for a human to refund. `reject` leaves no purchase credits.
create function payguard.resolve_review(p_order_id text, p_resolution text, p_note text, p_now timestamptz)
  returns jsonb language plpgsql security definer set search_path = ''
as $$
declare
  o payguard.payment_orders;
  keep record;
  to_refund text[];
begin
  if p_resolution not in ('fulfil', 'reject') then
    raise exception 'resolution must be fulfil or reject' using errcode = 'P0001';
  end if;
  select * into o from payguard.payment_orders where id = p_order_id for update;
  if not found or o.status <> 'needs_review' then
    return jsonb_build_object('outcome', 'noop', 'order', to_jsonb(o));
  end if;
  if p_resolution = 'fulfil' then
    select * into keep from payguard.order_payments
     where order_id = o.id and amount_minor + discount_minor = o.amount_minor and currency = o.currency
     order by paid_at, payment_ref limit 1;
    if not found then
      raise exception 'order % has no recorded payment of its amount to fulfil it with', o.id using errcode = 'P0001';
    end if;
    update payguard.order_payments set role = case when payment_ref = keep.payment_ref then 'primary' else 'second' end
     where order_id = o.id and role in ('primary', 'second', 'disputed')
       and amount_minor + discount_minor = o.amount_minor and currency = o.currency;
    update payguard.payment_orders
       set status = 'fulfilled', review_reason = null, review_resolution = 'fulfil', payment_ref = keep.payment_ref,
           paid_at = keep.paid_at, discount_minor = keep.discount_minor, updated_at = p_now
     where id = o.id returning * into o;
    perform payguard._release_held_refunds(o, 'admin', p_now);
    select array_agg(payment_ref order by payment_ref) into to_refund from payguard.order_payments
     where order_id = o.id and role <> 'primary';
    if to_refund is not null then
      perform payguard.open_incident('refund_other_payments:' || o.id, 'refund_other_payments', 'critical',
        format('Order %s was paid more than once: refund %s', o.id, array_to_string(to_refund, ', ')),
        jsonb_build_object('order_id', o.id, 'keep', keep.payment_ref, 'refund', to_jsonb(to_refund)), p_now);
    end if;
  else
    update payguard.payment_orders set status = 'failed', review_reason = null, review_resolution = 'reject', updated_at = p_now
     where id = o.id returning * into o;
  end if;
  o := payguard._sync_order(o.id, 'admin', p_now);
  perform payguard._order_event(o.id, p_now, 'review_resolved', 'admin',
    jsonb_build_object('resolution', p_resolution, 'note', p_note));
  return jsonb_build_object('outcome', o.status, 'order', to_jsonb(o));
end $$;

-- ==== inbox functions ============================================================================
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

-- ==== operations functions =======================================================================
-- Incidents (deduplicated by key while open), job runs and sync cursors.

create function payguard.open_incident(p_key text, p_kind text, p_severity text, p_summary text, p_detail jsonb, p_now timestamptz)
  returns jsonb language plpgsql security definer set search_path = ''
as $$
declare
  incident payguard.incidents;
begin
  update payguard.incidents
     set occurrences = occurrences + 1, last_seen_at = p_now, detail = coalesce(p_detail, detail),
         -- a worsening raises the severity (never lowers it), so the dashboard shows what the alerts said
         severity = case when p_severity = 'critical' or (p_severity = 'warning' and severity = 'info')
                         then p_severity else severity end
   where key = p_key and status = 'open' returning * into incident;
  if found then
    return jsonb_build_object('id', incident.id, 'opened', false);
  end if;
  insert into payguard.incidents (key, kind, severity, summary, detail, opened_at, last_seen_at)
  values (p_key, p_kind, p_severity, p_summary, coalesce(p_detail, '{}'::jsonb), p_now, p_now)
  on conflict (key) where status = 'open'
  do update set occurrences = payguard.incidents.occurrences + 1, last_seen_at = excluded.last_seen_at
  returning * into incident;
  return jsonb_build_object('id', incident.id, 'opened', incident.occurrences = 1);
end $$;

create function payguard.resolve_incident(p_key text, p_now timestamptz) returns jsonb
  language plpgsql security definer set search_path = ''
as $$
declare
  resolved int;
begin
  update payguard.incidents set status = 'resolved', resolved_at = p_now where key = p_key and status = 'open';
  get diagnostics resolved = row_count;
  return jsonb_build_object('resolved', resolved > 0);
end $$;

-- Operator triage. Both answer whether an open incident with that key existed.
create function payguard.acknowledge_incident(p_key text, p_actor text, p_now timestamptz) returns jsonb
  language plpgsql security definer set search_path = ''
as $$
declare
  changed int;
begin
  update payguard.incidents set acknowledged_at = p_now, acknowledged_by = p_actor
   where key = p_key and status = 'open';
  get diagnostics changed = row_count;
  return jsonb_build_object('found', changed > 0);
end $$;

create function payguard.mute_incident(p_key text, p_until timestamptz, p_actor text, p_now timestamptz) returns jsonb
  language plpgsql security definer set search_path = ''
as $$
declare
  changed int;
begin
  if p_until <= p_now then
    raise exception 'mute must end in the future' using errcode = 'P0001';
  end if;
  update payguard.incidents set muted_until = p_until, muted_by = p_actor
   where key = p_key and status = 'open';
  get diagnostics changed = row_count;
  return jsonb_build_object('found', changed > 0);
end $$;

create function payguard.list_incidents(p_status text default 'open', p_limit int default 100) returns jsonb
  language sql stable security definer set search_path = ''
as $$
  select coalesce(jsonb_agg(to_jsonb(i) order by i.last_seen_at desc), '[]'::jsonb)
    from (select * from payguard.incidents where p_status is null or status = p_status
           order by last_seen_at desc limit least(greatest(p_limit, 1), 500)) i;
$$;

create function payguard.record_job_run(p_job text, p_started_at timestamptz, p_finished_at timestamptz, p_status text, p_detail jsonb)
  returns void language sql security definer set search_path = ''
as $$
  insert into payguard.job_runs (job, status, started_at, finished_at, detail)
  values (p_job, p_status, p_started_at, p_finished_at, coalesce(p_detail, '{}'::jsonb));
$$;

create function payguard.list_job_runs(p_limit int default 50) returns jsonb
  language sql stable security definer set search_path = ''
as $$
  select coalesce(jsonb_agg(to_jsonb(j) order by j.started_at desc), '[]'::jsonb)
    from (select * from payguard.job_runs order by started_at desc limit least(greatest(p_limit, 1), 500)) j;
$$;

create function payguard.get_sync_cursor(p_name text) returns jsonb
  language sql stable security definer set search_path = ''
as $$ select value from payguard.sync_cursors where name = p_name $$;

create function payguard.set_sync_cursor(p_name text, p_value jsonb, p_now timestamptz) returns void
  language sql security definer set search_path = ''
as $$
  insert into payguard.sync_cursors (name, value, updated_at) values (p_name, p_value, p_now)
  on conflict (name) do update set value = excluded.value, updated_at = excluded.updated_at;
$$;

-- ==== audit functions ============================================================================
-- Ledger audit and repairs. The append-only ledger is the truth: a balance that disagrees with it is
-- recomputed from it, and the correction is kept as a resolved incident (who, before, after, when).

create function payguard.audit_ledger(p_now timestamptz, p_stuck_after_seconds int default 3600) returns jsonb
  language sql stable security definer set search_path = ''
as $$
  with sums as (
    select user_id, sum(credits) as ledger_credits from payguard.credit_ledger group by user_id
  ), findings as (
    select 'balance_mismatch' as kind, coalesce(b.user_id, s.user_id)::text as subject,
           jsonb_build_object('balance', coalesce(b.credits, 0), 'ledger_sum', coalesce(s.ledger_credits, 0)) as detail
      from payguard.credit_balances b full join sums s on s.user_id = b.user_id
     where coalesce(b.credits, 0) <> coalesce(s.ledger_credits, 0)
    union all
    select 'fulfilled_without_grant', o.id, jsonb_build_object('status', o.status, 'user_id', o.user_id, 'credits', o.credits)
      from payguard.payment_orders o
     where o.status in ('fulfilled', 'partially_refunded', 'refunded')
       and not exists (select 1 from payguard.credit_ledger l where l.order_id = o.id and l.kind = 'purchase')
    union all
    select 'grant_without_fulfilled_order', l.order_id, jsonb_build_object('status', o.status, 'credits', l.credits)
      from payguard.credit_ledger l join payguard.payment_orders o on o.id = l.order_id
     where l.kind = 'purchase' and o.status not in ('fulfilled', 'partially_refunded', 'refunded', 'needs_review')
       and o.review_resolution is distinct from 'reject' -- a rejected review reverses its grant (an adjustment)
    union all
    select 'pending_past_expiry', o.id, jsonb_build_object('expires_at', o.expires_at, 'check_attempts', o.check_attempts)
      from payguard.payment_orders o
     where o.status = 'pending' and o.expires_at + make_interval(secs => p_stuck_after_seconds) < p_now
    union all
    select 'needs_review', o.id, jsonb_build_object('reason', o.review_reason, 'since', o.updated_at)
      from payguard.payment_orders o where o.status = 'needs_review'
    union all
    select 'failed_inbox_event', e.provider || ':' || e.event_id,
           jsonb_build_object('type', e.event_type, 'order_id', e.order_id, 'error', e.last_error, 'attempts', e.attempts)
      from payguard.webhook_events e
     where e.status = 'failed' or (e.status = 'received' and e.received_at < p_now - interval '10 minutes')
    union all
    -- A payment held because its order is not stored: money moved and nobody is credited until the order
    -- is written (then the hold is applied and the finding is gone). Reported at once, whatever its age.
    select 'held_payment', h.provider || ':' || h.fact_ref,
           jsonb_build_object('order_id', h.order_id, 'payment_ref', h.payment_ref, 'held_at', h.held_at,
                              'amount_minor', h.fact -> 'amount_minor', 'currency', h.fact -> 'currency')
      from payguard.held_facts h where h.kind = 'payment'
    union all
    -- A refund held longer than this (6 hours) is waiting for a payment that may never come. (Early
    -- refunds are normal after an outage: the payment event waits in the provider's retry backoff.)
    select 'held_fact_stale', h.provider || ':' || h.kind || ':' || h.fact_ref,
           jsonb_build_object('order_id', h.order_id, 'payment_ref', h.payment_ref, 'held_at', h.held_at)
      from payguard.held_facts h where h.kind = 'refund' and h.held_at < p_now - interval '6 hours'
  )
  select coalesce(jsonb_agg(jsonb_build_object('kind', kind, 'subject', subject, 'detail', detail)
                            order by kind, subject), '[]'::jsonb)
    from findings;
$$;

create function payguard.repair_balance(p_user_id uuid, p_now timestamptz) returns jsonb
  language plpgsql security definer set search_path = ''
as $$
declare
  before bigint;
  truth bigint;
begin
  select credits into before from payguard.credit_balances where user_id = p_user_id for update;
  select coalesce(sum(credits), 0) into truth from payguard.credit_ledger where user_id = p_user_id;
  if before is not distinct from truth then
    return jsonb_build_object('delta', 0);
  end if;
  insert into payguard.credit_balances as b (user_id, credits, updated_at) values (p_user_id, truth, p_now)
  on conflict (user_id) do update set credits = excluded.credits, updated_at = excluded.updated_at;
  insert into payguard.incidents (key, kind, severity, status, summary, detail, opened_at, last_seen_at, resolved_at)
  values ('balance_repaired:' || p_user_id || ':' || p_now, 'balance_repaired', 'warning', 'resolved',
          'Balance recomputed from the ledger',
          jsonb_build_object('user_id', p_user_id, 'before', coalesce(before, 0), 'after', truth), p_now, p_now, p_now);
  return jsonb_build_object('delta', truth - coalesce(before, 0));
end $$;

create function payguard.repair_missing_grant(p_order_id text, p_now timestamptz) returns jsonb
  language plpgsql security definer set search_path = ''
as $$
declare
  o payguard.payment_orders;
begin
  select * into o from payguard.payment_orders where id = p_order_id for update;
  if not found or o.status not in ('fulfilled', 'partially_refunded', 'refunded') then
    return jsonb_build_object('outcome', 'noop');
  end if;
  if not payguard._post_credits(o.user_id, o.id, 'purchase', o.credits, o.provider, null, 'repair: missing grant', p_now) then
    return jsonb_build_object('outcome', 'noop');
  end if;
  perform payguard._order_event(o.id, p_now, 'grant_repaired', 'admin', jsonb_build_object('credits', o.credits));
  return jsonb_build_object('outcome', 'granted');
end $$;

create function payguard.dashboard_metrics(p_since timestamptz, p_now timestamptz) returns jsonb
  language sql stable security definer set search_path = ''
as $$
  with window_orders as (
    select * from payguard.payment_orders where created_at >= p_since and created_at <= p_now
  )
  select jsonb_build_object(
    'since', p_since, 'until', p_now,
    'orders_by_status', coalesce((select jsonb_object_agg(status, n)
                                   from (select status, count(*) as n from payguard.payment_orders group by status) s), '{}'::jsonb),
    'orders_created', (select count(*) from window_orders),
    'orders_fulfilled', (select count(*) from window_orders where paid_at is not null),
    'fulfilment_rate', (select case when count(*) = 0 then null
                                    else round(count(*) filter (where paid_at is not null)::numeric / count(*), 4) end
                          from window_orders),
    'median_seconds_to_paid', (select percentile_cont(0.5) within group (order by extract(epoch from paid_at - created_at))
                                 from window_orders where paid_at is not null),
    'credits_granted', (select coalesce(sum(credits), 0) from payguard.credit_ledger
                         where kind = 'purchase' and created_at between p_since and p_now),
    'credits_clawed_back', (select coalesce(-sum(credits), 0) from payguard.credit_ledger
                             where kind = 'clawback' and created_at between p_since and p_now),
    'open_incidents', (select count(*) from payguard.incidents where status = 'open'),
    'failed_inbox_events', (select count(*) from payguard.webhook_events where status = 'failed'),
    'webhook_events', coalesce((select jsonb_object_agg(provider || ':' || status, n)
                                 from (select provider, status, count(*) as n from payguard.webhook_events
                                        where received_at between p_since and p_now group by provider, status) w), '{}'::jsonb)
  );
$$;

-- ==== bill functions =============================================================================
-- Orders to compare with a provider's daily bill: those the bill mentions, plus those we think were paid
-- in that window (so an order the bill lacks is found too).
create function payguard.orders_for_bill(p_provider text, p_from timestamptz, p_to timestamptz, p_order_ids text[])
  returns jsonb language sql stable security definer set search_path = ''
as $$
  select coalesce(jsonb_agg(to_jsonb(o) order by o.id), '[]'::jsonb)
    from payguard.payment_orders o
   where o.provider = p_provider
     and (o.id = any(coalesce(p_order_ids, '{}')) or (o.paid_at >= p_from and o.paid_at < p_to));
$$;
revoke execute on function payguard.orders_for_bill(text, timestamptz, timestamptz, text[]) from public, anon, authenticated;
grant execute on function payguard.orders_for_bill(text, timestamptz, timestamptz, text[]) to service_role;

-- ==== confirm checks =============================================================================
-- When the success page last made payguard ask the provider about a pending order. Customers' browsers
-- poll `GET /api/orders/:id`; without this, every poll became one signed provider call. A claim
-- succeeds at most once per interval per order, also under concurrent polls (the upsert takes the row
-- lock and re-checks its condition).
create table payguard.confirm_checks (
  order_id text primary key references payguard.payment_orders (id),
  checked_at timestamptz not null
);
alter table payguard.confirm_checks enable row level security;
revoke all on payguard.confirm_checks from public, anon, authenticated, service_role;

-- true: the caller may query the provider now (and the check is recorded); false: one was made less
-- than p_min_interval_ms ago.
create function payguard.claim_confirm_check(p_order_id text, p_now timestamptz, p_min_interval_ms integer)
  returns boolean
  language plpgsql security definer set search_path = ''
as $$
begin
  if p_min_interval_ms is null or p_min_interval_ms < 0 then
    raise exception 'p_min_interval_ms must be >= 0' using errcode = 'P0001';
  end if;
  insert into payguard.confirm_checks as c (order_id, checked_at)
  values (p_order_id, p_now)
  on conflict (order_id) do update set checked_at = excluded.checked_at
   where c.checked_at <= excluded.checked_at - make_interval(secs => p_min_interval_ms / 1000.0);
  return found;
end $$;

-- ==== app hook ===================================================================================
-- The app hook: an app whose credits or goods live in its own tables defines
--   payguard_app.on_settled(change jsonb)
-- and payguard calls it inside the transaction of every ledger entry (grant, clawback, reversal), so the
-- app's tables and payguard's ledger commit or roll back together. When the hook raises, the whole
-- settlement rolls back with SQLSTATE P0H01, which PostgREST answers with HTTP 500 (class P0): the
-- worker treats it as transient (the provider redelivers, the cron retries) and opens an incident.
--
-- `change` = {"order_id", "user_id", "package_id", "provider", "reason" (the ledger entry kind:
--   purchase, clawback, …), "credits_delta" (signed), "balance_after" (payguard's balance),
--   "amount_minor", "currency", "refund_ref", "note", "at"}.
-- The hook runs with the privileges of the migration owner; payguard never creates schema payguard_app.
create function payguard._notify_app_settled(
  p_user_id uuid, p_order_id text, p_kind text, p_credits bigint, p_provider text, p_refund_ref text,
  p_note text, p_now timestamptz
) returns void language plpgsql security definer set search_path = ''
as $$
declare
  change jsonb;
begin
  if to_regprocedure('payguard_app.on_settled(jsonb)') is null then
    return;
  end if;
  select jsonb_build_object(
           'order_id', p_order_id, 'user_id', p_user_id, 'package_id', o.package_id, 'provider', p_provider,
           'reason', p_kind, 'credits_delta', p_credits, 'balance_after', b.credits,
           'amount_minor', o.amount_minor, 'currency', o.currency, 'refund_ref', p_refund_ref,
           'note', p_note, 'at', p_now)
    into change
    from payguard.payment_orders o
    left join payguard.credit_balances b on b.user_id = p_user_id
   where o.id = p_order_id;
  begin
    execute 'select payguard_app.on_settled($1)' using change;
  exception when others then
    raise exception 'app hook payguard_app.on_settled failed: %', sqlerrm
      using errcode = 'P0H01', detail = format('order %s, %s %s credits', p_order_id, p_kind, p_credits);
  end;
end $$;

-- ==== reconcile functions ========================================================================
-- What the scheduled jobs ask the ledger besides leasing and settling: which incidents of a kind are
-- open (so a finding no longer seen is resolved), and whether payments are reaching us only through
-- re-queries (callbacks that never arrived).

create function payguard.list_open_incident_keys(p_prefix text) returns jsonb
  language sql stable security definer set search_path = ''
as $$
  select coalesce(jsonb_agg(key order by key), '[]'::jsonb)
    from payguard.incidents
   where status = 'open' and left(key, length(p_prefix)) = p_prefix;
$$;

-- Orders of a provider credited by the reconcile re-query within [p_since, p_until), at least
-- p_delay_seconds after the provider says they were paid: their callback never arrived in time. Count and
-- the oldest one. The window is closed: without the upper bound, re-queried payments recorded after the
-- check's own "now" (a clock behind, or rows written for a later time) would keep "WeChat notifications
-- are not arriving" open forever.
create function payguard.callback_gaps(
  p_provider text,
  p_since timestamptz,
  p_until timestamptz,
  p_delay_seconds int
)
  returns jsonb language sql stable security definer set search_path = ''
as $$
  with gaps as (
    select o.id, o.paid_at
      from payguard.order_events e join payguard.payment_orders o on o.id = e.order_id
     where o.provider = p_provider and e.kind in ('paid', 'late_payment') and e.source = 'reconcile'
       and e.at >= p_since and e.at < p_until
       and e.at - o.paid_at >= make_interval(secs => p_delay_seconds)
  )
  select jsonb_build_object(
    'count', (select count(*) from gaps),
    'first_order_id', (select id from gaps order by paid_at, id limit 1));
$$;

-- ==== admin console ==============================================================================
-- Operator console: who did what, when and why (admin_actions), and the read models the admin API and
-- dashboard show (order search, full order detail, overview for a window). Reads only payguard's tables.
create table payguard.admin_actions (
  id bigint generated always as identity primary key,
  actor text not null check (actor ~ '^[A-Za-z0-9_.-]{1,64}$'),
  action text not null,
  order_id text,
  target text,
  reason text not null,
  outcome text not null,
  detail jsonb not null default '{}'::jsonb,
  at timestamptz not null
);
create index admin_actions_recent on payguard.admin_actions (at desc);
create index admin_actions_order on payguard.admin_actions (order_id, at) where order_id is not null;
alter table payguard.admin_actions enable row level security;
revoke all on payguard.admin_actions from public, anon, authenticated, service_role;

-- Attribution for every mutating admin call; an action on an order also lands on its timeline.
create function payguard.record_admin_action(
  p_actor text, p_action text, p_order_id text, p_target text, p_reason text, p_outcome text, p_detail jsonb,
  p_now timestamptz
) returns bigint language plpgsql security definer set search_path = ''
as $$
declare
  new_id bigint;
begin
  insert into payguard.admin_actions (actor, action, order_id, target, reason, outcome, detail, at)
  values (p_actor, p_action, p_order_id, p_target, p_reason, p_outcome, coalesce(p_detail, '{}'::jsonb), p_now)
  returning id into new_id;
  if p_order_id is not null and exists (select 1 from payguard.payment_orders where id = p_order_id) then
    perform payguard._order_event(p_order_id, p_now, 'admin_' || p_action, 'admin',
      jsonb_build_object('actor', p_actor, 'reason', p_reason, 'outcome', p_outcome) || coalesce(p_detail, '{}'::jsonb));
  end if;
  return new_id;
end $$;

-- Search by id / provider reference / payment reference (p_query), user, status, provider and creation date.
create function payguard.admin_search_orders(
  p_query text, p_user_id uuid, p_status text, p_provider text, p_from timestamptz, p_to timestamptz,
  p_limit int, p_offset int
) returns jsonb language sql stable security definer set search_path = ''
as $$
  with matched as (
    select * from payguard.payment_orders o
     where (p_query is null or o.id = p_query or o.provider_ref = p_query or o.payment_ref = p_query)
       and (p_user_id is null or o.user_id = p_user_id)
       and (p_status is null or o.status = p_status)
       and (p_provider is null or o.provider = p_provider)
       and (p_from is null or o.created_at >= p_from)
       and (p_to is null or o.created_at < p_to)
  )
  select jsonb_build_object(
    'total', (select count(*) from matched),
    'orders', coalesce((select jsonb_agg(to_jsonb(page) order by page.created_at desc, page.id)
                          from (select * from matched order by created_at desc, id
                                 limit least(greatest(p_limit, 1), 200) offset greatest(p_offset, 0)) page), '[]'::jsonb));
$$;

-- Everything known about one order: timeline, provider events received, ledger rows, refunds, incidents
-- that name it, operator actions, and the user's balance next to the ledger sum.
create function payguard.admin_order_detail(p_order_id text) returns jsonb
  language sql stable security definer set search_path = ''
as $$
  select to_jsonb(o) || jsonb_build_object(
    'timeline', coalesce((select jsonb_agg(jsonb_build_object('at', e.at, 'kind', e.kind, 'source', e.source, 'detail', e.detail)
                                           order by e.at, e.id)
                            from payguard.order_events e where e.order_id = o.id), '[]'::jsonb),
    'events', coalesce((select jsonb_agg(to_jsonb(w) order by w.received_at)
                          from payguard.webhook_events w where w.order_id = o.id), '[]'::jsonb),
    'ledger', coalesce((select jsonb_agg(to_jsonb(l) order by l.id)
                          from payguard.credit_ledger l where l.order_id = o.id), '[]'::jsonb),
    'refunds', coalesce((select jsonb_agg(to_jsonb(r) order by r.applied_at)
                           from payguard.payment_refunds r where r.order_id = o.id), '[]'::jsonb),
    'incidents', coalesce((select jsonb_agg(to_jsonb(i) order by i.opened_at)
                             from payguard.incidents i
                            where i.detail ->> 'order_id' = o.id or i.key like '%:' || o.id), '[]'::jsonb),
    'actions', coalesce((select jsonb_agg(to_jsonb(a) order by a.at)
                           from payguard.admin_actions a where a.order_id = o.id), '[]'::jsonb),
    'balance', jsonb_build_object(
      'stored', (select b.credits from payguard.credit_balances b where b.user_id = o.user_id),
      'ledger_sum', (select coalesce(sum(l.credits), 0) from payguard.credit_ledger l where l.user_id = o.user_id)))
    from payguard.payment_orders o where o.id = p_order_id;
$$;

-- The dashboard's overview for [p_since, p_now]: status counts, paid → credited latency by settle path,
-- webhook success per provider, repairs, incidents, last run per job, and a time series in p_bucket_seconds.
create function payguard.admin_overview(p_since timestamptz, p_now timestamptz, p_bucket_seconds int)
  returns jsonb language sql stable security definer set search_path = ''
as $$
  with credited as (
    select o.source as path, o.paid_at, l.created_at as credited_at,
           extract(epoch from l.created_at - o.paid_at) * 1000 as latency_ms
      from payguard.credit_ledger l join payguard.payment_orders o on o.id = l.order_id
     where l.kind = 'purchase' and l.created_at between p_since and p_now and o.paid_at is not null
  ), buckets as (
    select generate_series(0, greatest(floor(extract(epoch from p_now - p_since) / greatest(p_bucket_seconds, 60))::int, 0)) as n
  )
  select jsonb_build_object(
    'since', p_since, 'until', p_now, 'bucket_seconds', greatest(p_bucket_seconds, 60),
    'orders_by_status', coalesce((select jsonb_object_agg(status, n) from (
        select status, count(*) as n from payguard.payment_orders
         where created_at between p_since and p_now group by status) s), '{}'::jsonb),
    'latency_ms_by_path', coalesce((select jsonb_object_agg(path, jsonb_build_object(
        'count', n, 'p50', p50, 'p95', p95)) from (
        select coalesce(path, 'unknown') as path, count(*) as n,
               round(percentile_cont(0.5) within group (order by greatest(latency_ms, 0))) as p50,
               round(percentile_cont(0.95) within group (order by greatest(latency_ms, 0))) as p95
          from credited group by path) p), '{}'::jsonb),
    'webhooks_by_provider', coalesce((select jsonb_object_agg(provider, jsonb_build_object(
        'received', n, 'ok', good, 'success_rate', case when n = 0 then null else round(good::numeric / n, 4) end)) from (
        select provider, count(*) as n, count(*) filter (where status in ('processed', 'ignored')) as good
          from payguard.webhook_events where received_at between p_since and p_now group by provider) w), '{}'::jsonb),
    'repaired_by_reconcile', (select count(*) from credited where path = 'reconcile'),
    'open_incidents', (select count(*) from payguard.incidents where status = 'open'),
    'last_job_runs', coalesce((select jsonb_object_agg(job, to_jsonb(j) - 'job') from (
        select distinct on (job) * from payguard.job_runs order by job, started_at desc) j), '{}'::jsonb),
    'series', (select jsonb_agg(jsonb_build_object(
        'at', p_since + make_interval(secs => b.n * greatest(p_bucket_seconds, 60)),
        'payments', (select count(*) from credited c
                      where c.credited_at >= p_since + make_interval(secs => b.n * greatest(p_bucket_seconds, 60))
                        and c.credited_at < p_since + make_interval(secs => (b.n + 1) * greatest(p_bucket_seconds, 60))),
        'repairs', (select count(*) from credited c where c.path in ('reconcile', 'admin')
                      and c.credited_at >= p_since + make_interval(secs => b.n * greatest(p_bucket_seconds, 60))
                      and c.credited_at < p_since + make_interval(secs => (b.n + 1) * greatest(p_bucket_seconds, 60))))
        order by b.n) from buckets b)
  );
$$;

-- ==== checkout ===================================================================================
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

-- ==== settle event ===============================================================================
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

-- ==== doctor =====================================================================================
-- Installation doctor: what the database itself can tell about whether payguard can work here. The worker
-- (src/ops/doctor.ts) turns these facts into findings; it also knows what SQL cannot see (the functions
-- the code calls, whether the Data API exposes the schema at all).
--
-- Facts returned: the migration tracking table and whether the code's expected latest migration is in it
-- (Supabase CLI: supabase_migrations.schema_migrations; the local runner: payguard_meta.applied_migrations),
-- every payguard function with who may execute it, every payguard table with its RLS flag, and whether the
-- app hook payguard_app.on_settled(jsonb) exists and is executable by the owner of the settlement functions.
create function payguard.doctor(p_expected_migration text)
  returns jsonb language plpgsql stable security definer set search_path = ''
as $$
declare
  tracking text;
  applied boolean := false;
  latest text;
  functions jsonb;
  tables jsonb;
  hook regprocedure := to_regprocedure('payguard_app.on_settled(jsonb)');
begin
  if to_regclass('supabase_migrations.schema_migrations') is not null then
    tracking := 'supabase_migrations.schema_migrations';
    execute 'select max(version)::text, bool_or(version::text = $1) from supabase_migrations.schema_migrations'
      into latest, applied using p_expected_migration;
  elsif to_regclass('payguard_meta.applied_migrations') is not null then
    tracking := 'payguard_meta.applied_migrations';
    execute 'select max(left(name, 14)), bool_or(left(name, 14) = $1) from payguard_meta.applied_migrations'
      into latest, applied using p_expected_migration;
  end if;

  select coalesce(jsonb_agg(jsonb_build_object(
           'name', p.proname,
           'signature', p.oid::regprocedure::text,
           'internal', left(p.proname, 1) = '_' or p.prorettype = 'pg_catalog.trigger'::regtype,
           'service_role', has_function_privilege('service_role', p.oid, 'execute'),
           'public', has_function_privilege('public', p.oid, 'execute'),
           'anon', has_function_privilege('anon', p.oid, 'execute'),
           'authenticated', has_function_privilege('authenticated', p.oid, 'execute'))
         order by p.proname), '[]'::jsonb)
    into functions
    from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
   where n.nspname = 'payguard';

  select coalesce(jsonb_agg(jsonb_build_object('name', c.relname, 'rls', c.relrowsecurity) order by c.relname),
                  '[]'::jsonb)
    into tables
    from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
   where n.nspname = 'payguard' and c.relkind in ('r', 'p');

  return jsonb_build_object(
    'migrations', jsonb_build_object('table', tracking, 'latest', latest, 'expected_applied', coalesce(applied, false)),
    'functions', functions,
    'tables', tables,
    'app_hook', jsonb_build_object(
      'defined', hook is not null,
      'callable', hook is not null
        and has_schema_privilege('payguard_app', 'usage')
        and has_function_privilege(hook, 'execute')));
end $$;

-- ==== threshold stats ============================================================================
-- Threshold alerts: the counts the 5-minute tick compares to its thresholds (src/ops/thresholds.ts), in one
-- cheap call over a sliding window [p_since, p_now).
--
-- callbacks (per provider): deliveries = every attempt the inbox saw (attempts counts redeliveries);
--   failed = attempts that did not end processed or ignored (we answered 5xx and the provider retried, or the
--   event is still failed). Requests refused before the inbox (bad signature) are not counted here.
-- out_of_sync: orders paid in the window whose credit did not come from their callback: credited by
--   reconcile, or not credited at all (no purchase grant). `oldest_lag_s` is the longest paid → credited
--   (or paid → now) delay among them. Older gaps are the hourly ledger audit's.
-- payments: orders created in the window and how many of them are paid.
-- The window scans stay index range scans however large the tables grow.
create index payment_orders_created on payguard.payment_orders (created_at);
create index payment_orders_paid on payguard.payment_orders (paid_at) where paid_at is not null;
create index webhook_events_received on payguard.webhook_events (received_at);

create function payguard.threshold_stats(p_since timestamptz, p_now timestamptz)
  returns jsonb language sql stable security definer set search_path = ''
as $$
  select jsonb_build_object(
    'callbacks', (
      select coalesce(jsonb_object_agg(provider, jsonb_build_object('deliveries', deliveries, 'failed', failed)),
                      '{}'::jsonb)
        from (select provider, sum(attempts)::bigint as deliveries,
                     (sum(attempts) - count(*) filter (where status in ('processed', 'ignored')))::bigint as failed
                from payguard.webhook_events
               where received_at >= p_since and received_at < p_now
               group by provider) c),
    'out_of_sync', (
      select jsonb_build_object('count', count(*), 'oldest_lag_s', coalesce(max(lag_s), 0))
        from (select extract(epoch from coalesce(l.created_at, p_now) - o.paid_at)::bigint as lag_s
                from payguard.payment_orders o
                left join payguard.credit_ledger l on l.order_id = o.id and l.kind = 'purchase'
               where o.paid_at >= p_since and o.paid_at < p_now
                 and ((o.source = 'reconcile' and l.created_at < p_now)
                      or (l.id is null and o.status in ('fulfilled', 'partially_refunded')))) s),
    'payments', (
      select jsonb_build_object('created', count(*), 'paid', count(*) filter (where paid_at < p_now))
        from payguard.payment_orders
       where created_at >= p_since and created_at < p_now));
$$;

-- ==== weekly report ==============================================================================
-- Weekly report: the figures for one window [p_from, p_to) (src/ops/weekly-report.ts turns them into a
-- message and the console page), and the record of which weeks were sent, so the hourly cron posts each
-- week's report once however often it runs.
create table payguard.weekly_reports (
  week_start date primary key,
  time_zone text not null,
  figures jsonb not null,
  sent_at timestamptz not null
);
alter table payguard.weekly_reports enable row level security;
revoke all on payguard.weekly_reports from public, anon, authenticated, service_role;

-- payments: orders paid in the window, per currency (count, amount). credits: ledger entries in the window.
-- latency: purchase grants in the window, paid → credited in ms, p50 / p95 (percentile_disc: a real sample),
--   by the path that settled the order (webhook, reconcile, confirm, admin).
-- repaired: payments recorded by a path other than the callback, and grants repaired, by event kind and path.
-- incidents: opened and resolved in the window; still_open: everything open at p_to (newest 20 listed).
create function payguard.weekly_report(p_from timestamptz, p_to timestamptz)
  returns jsonb language sql stable security definer set search_path = ''
as $$
  select jsonb_build_object(
    'from', p_from, 'to', p_to,
    'orders_created', (select count(*) from payguard.payment_orders where created_at >= p_from and created_at < p_to),
    'payments', (
      select coalesce(jsonb_agg(jsonb_build_object('currency', currency, 'count', n, 'amount_minor', amount)
                                order by currency), '[]'::jsonb)
        from (select currency::text, count(*) as n, sum(amount_minor)::bigint as amount
                from payguard.payment_orders
               where paid_at >= p_from and paid_at < p_to
               group by currency) p),
    'credits', (
      select jsonb_build_object(
               'granted', coalesce(sum(credits) filter (where kind = 'purchase'), 0),
               'clawed_back', coalesce(-sum(credits) filter (where kind = 'clawback'), 0),
               'adjusted', coalesce(sum(credits) filter (where kind = 'adjustment'), 0))
        from payguard.credit_ledger where created_at >= p_from and created_at < p_to),
    'latency', (
      select coalesce(jsonb_agg(jsonb_build_object('path', path, 'count', n, 'p50_ms', p50, 'p95_ms', p95)
                                order by path), '[]'::jsonb)
        from (select coalesce(o.source, 'unknown') as path, count(*) as n,
                     percentile_disc(0.5) within group (order by extract(epoch from l.created_at - o.paid_at) * 1000)::bigint as p50,
                     percentile_disc(0.95) within group (order by extract(epoch from l.created_at - o.paid_at) * 1000)::bigint as p95
                from payguard.credit_ledger l join payguard.payment_orders o on o.id = l.order_id
               where l.kind = 'purchase' and l.created_at >= p_from and l.created_at < p_to and o.paid_at is not null
               group by 1) t),
    'repaired', (
      select coalesce(jsonb_agg(jsonb_build_object('kind', kind, 'path', path, 'count', n) order by kind, path),
                      '[]'::jsonb)
        from (select kind, coalesce(source, 'unknown') as path, count(distinct order_id) as n
                from payguard.order_events
               where at >= p_from and at < p_to
                 and (kind in ('created_from_metadata', 'grant_repaired')
                      or (kind in ('paid', 'late_payment') and coalesce(source, '') <> 'webhook'))
               group by 1, 2) r),
    'incidents', jsonb_build_object(
      'opened', (select count(*) from payguard.incidents where opened_at >= p_from and opened_at < p_to),
      'resolved', (select count(*) from payguard.incidents where resolved_at >= p_from and resolved_at < p_to)),
    'still_open', jsonb_build_object(
      'count', (select count(*) from payguard.incidents
                 where opened_at < p_to and (resolved_at is null or resolved_at >= p_to)),
      'newest', (select coalesce(jsonb_agg(jsonb_build_object('key', key, 'severity', severity, 'summary', summary,
                                                              'opened_at', opened_at) order by opened_at desc), '[]'::jsonb)
                   from (select key, severity, summary, opened_at from payguard.incidents
                          where opened_at < p_to and (resolved_at is null or resolved_at >= p_to)
                          order by opened_at desc limit 20) s)));
$$;

-- Claims a week before its report is posted: true for the first caller only. A post that fails is released
-- so the next hourly run tries again.
create function payguard.claim_weekly_report(p_week_start date, p_time_zone text, p_figures jsonb, p_now timestamptz)
  returns boolean language plpgsql security definer set search_path = ''
as $$
begin
  insert into payguard.weekly_reports (week_start, time_zone, figures, sent_at)
  values (p_week_start, p_time_zone, p_figures, p_now)
  on conflict (week_start) do nothing;
  return found;
end $$;

create function payguard.release_weekly_report(p_week_start date)
  returns void language sql security definer set search_path = ''
as $$
  delete from payguard.weekly_reports where week_start = p_week_start;
$$;

-- ==== runbook actions ============================================================================
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

select payguard._secure_functions();
